import Handlebars from 'handlebars';

/**
 * Subscription templates: Handlebars (as the Learning Hub's templates are) producing JSON.
 *
 * `{{x}}` is escaped for the inside of a JSON string, not for HTML: `"{{PublisherParticipantId}}"`
 * stays valid JSON whatever the id holds, and an object or number renders as its JSON. `{{json x}}`
 * renders any value as a JSON literal (quotes included, null when absent), `{{{x}}}` renders raw.
 * Templates may call only the helpers below; partials and decorators are refused.
 *
 * A render may be given limits (iterations, characters of output, time): the helpers, `each`
 * and every mustache count what they do, so a template that would loop or grow without end
 * stops with a TemplateBudgetError as soon as it goes over, whatever the data.
 */
const env = Handlebars.create();

type Value = unknown;
const truthy = (value: Value): boolean =>
  Array.isArray(value) ? value.length > 0 : Boolean(value) && value !== '';

/** What one render may spend. */
export interface RenderLimits {
  /** Iterations of `each` blocks (and of `{{#list}}` over an array), all blocks together. */
  maxIterations: number;
  /** Characters (UTF-16 code units) of output, and of any one helper's result. */
  maxOutputChars: number;
  /** Wall-clock time, checked as the template runs; null: none. */
  maxMilliseconds: number | null;
}

export type TemplateBudget = 'iterations' | 'output' | 'time';

const BUDGET_UNITS: Record<TemplateBudget, string> = {
  iterations: 'iterations',
  output: 'characters of output',
  time: 'ms',
};

/** A render went over one of its limits; the message says which. */
export class TemplateBudgetError extends Error {
  constructor(
    readonly budget: TemplateBudget,
    readonly limit: number,
  ) {
    super(`the template went over its budget of ${limit} ${BUDGET_UNITS[budget]}`);
    this.name = 'TemplateBudgetError';
  }
}

// Reading the clock costs more than a step: look at it every 128 steps.
const STEPS_PER_CLOCK_READING = 128;

/** What the render in progress has spent. */
class RenderMeter {
  private iterations = 0;
  private steps = 0;
  /** Characters counted into the output so far (mustaches, and the text of each iteration). */
  emitted = 0;
  private readonly deadline: number | null;

  constructor(private readonly limits: RenderLimits) {
    this.deadline =
      limits.maxMilliseconds === null ? null : performance.now() + limits.maxMilliseconds;
  }

  step(): void {
    if (this.deadline === null || ++this.steps % STEPS_PER_CLOCK_READING !== 0) return;
    if (performance.now() > this.deadline)
      throw new TemplateBudgetError('time', this.limits.maxMilliseconds!);
  }

  iterate(): void {
    if (++this.iterations > this.limits.maxIterations)
      throw new TemplateBudgetError('iterations', this.limits.maxIterations);
    this.step();
  }

  /** Refuses to build a result of `chars` characters that could not fit in the output. */
  ensureRoom(chars: number): void {
    if (this.emitted + chars > this.limits.maxOutputChars)
      throw new TemplateBudgetError('output', this.limits.maxOutputChars);
  }

  emit(chars: number): void {
    this.ensureRoom(chars);
    this.emitted += chars;
    this.step();
  }

  finish(output: string): void {
    if (output.length > this.limits.maxOutputChars)
      throw new TemplateBudgetError('output', this.limits.maxOutputChars);
  }
}

// Renders are synchronous: the meter of the one in progress, if it has limits.
let meter: RenderMeter | null = null;

// JSON data holds no functions or bigints: JSON.stringify of a number or boolean is its String().
const textOf = (part: Value): string =>
  part === undefined || part === null ? '' : typeof part === 'string' ? part : JSON.stringify(part);

/** The helpers a template may call (a Handlebars options object arrives as the last argument). */
const HELPERS: Record<string, (...args: Value[]) => Value> = {
  json: (value) => {
    const text = JSON.stringify(value === undefined ? null : value) ?? 'null';
    meter?.ensureRoom(text.length);
    return new env.SafeString(text);
  },
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  and: (...args) => args.slice(0, -1).every(truthy),
  or: (...args) => args.slice(0, -1).some(truthy),
  not: (value) => !truthy(value),
  default: (value, fallback) =>
    value === undefined || value === null || value === '' ? fallback : value,
  upper: (value) => {
    if (typeof value !== 'string') return value;
    meter?.ensureRoom(value.length);
    return value.toUpperCase();
  },
  lower: (value) => {
    if (typeof value !== 'string') return value;
    meter?.ensureRoom(value.length);
    return value.toLowerCase();
  },
  concat: (...args) => {
    const parts = args.slice(0, -1).map(textOf);
    // Checked before joining: nested concats could otherwise build gigabytes.
    meter?.ensureRoom(parts.reduce((total, part) => total + part.length, 0));
    return parts.join('');
  },
  /** The calendar date (yyyy-MM-dd, UTC) of an ISO instant. */
  date: (value) =>
    typeof value === 'string' && !Number.isNaN(Date.parse(value))
      ? new Date(value).toISOString().slice(0, 10)
      : value,
};

// Escaped output goes through this helper instead of Handlebars' HTML escaping.
const JSON_TEXT = '__jsonText';
const jsonText = (value: Value): hbs.SafeString | string => {
  if (value === undefined || value === null) return '';
  if (value instanceof env.SafeString) {
    meter?.emit(value.toString().length);
    return value;
  }
  const text =
    typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value);
  meter?.emit(text?.length ?? 0);
  return new env.SafeString(text ?? '');
};

// Raw output (`{{{x}}}`) goes through this one, which only counts: the value is appended as
// Handlebars appends it (so `{{{@index}}}{{{.}}}` still adds numbers, as it always did).
const RAW_TEXT = '__rawText';
const rawText = (value: Value): Value => {
  if (meter !== null && value !== undefined && value !== null)
    // Exactly the text that lands in the output, "[object Object]" included.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    meter.emit(String(value).length);
  return value;
};

for (const [name, helper] of Object.entries(HELPERS))
  env.registerHelper(name, (...args: Value[]) => {
    meter?.step();
    return helper(...args);
  });
env.registerHelper(JSON_TEXT, jsonText);
env.registerHelper(RAW_TEXT, rawText);
// Templates run on every delivery: they must not write to the hub's logs.
env.unregisterHelper('log');

/**
 * `each` counts its iterations and the text each one writes (what the mustaches inside did
 * not count already). `{{#list}}…{{/list}}` over an array iterates through `each` too.
 */
const builtInEach = env.helpers.each!;
env.registerHelper(
  'each',
  function countedEach(
    this: unknown,
    context: Value,
    options: Handlebars.HelperOptions | undefined,
  ) {
    const active = meter;
    if (active === null || typeof options?.fn !== 'function')
      return builtInEach.call(this, context, options) as Value;
    const iteration = options.fn;
    const counted = (value: Value, runtime?: Handlebars.RuntimeOptions) => {
      active.iterate();
      const before = active.emitted;
      const text = iteration(value, runtime);
      active.emit(Math.max(0, text.length - (active.emitted - before)));
      return text;
    };
    return builtInEach.call(this, context, { ...options, fn: counted }) as Value;
  },
);

export const TEMPLATE_HELPERS = Object.keys(HELPERS);
const KNOWN_HELPERS: Record<string, boolean> = {
  ...Object.fromEntries([...TEMPLATE_HELPERS, JSON_TEXT, RAW_TEXT].map((name) => [name, true])),
  log: false,
};
// Handlebars' own, which a mustache such as `{{{lookup}}}` calls rather than reads.
const BUILT_IN_HELPERS = [
  'helperMissing',
  'blockHelperMissing',
  'each',
  'if',
  'unless',
  'with',
  'lookup',
];
const compileOptions = () => ({
  knownHelpersOnly: true,
  knownHelpers: { ...KNOWN_HELPERS },
  // Missing fields render as nothing rather than failing the conversion.
  strict: false,
  preventIndent: true,
  data: true,
});

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
    readonly column: number | null,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Node = hbs.AST.Node & Record<string, unknown>;
type Mustache = hbs.AST.MustacheStatement & { escaped: boolean };

const locationOf = (node: Node): { line: number; column: number } | null => {
  const loc = node.loc as hbs.AST.SourceLocation | undefined;
  return loc ? { line: loc.start.line, column: loc.start.column + 1 } : null;
};

/** A literal in a mustache's place is read as a field of that name, as Handlebars does. */
const asPath = (expression: hbs.AST.Expression): hbs.AST.PathExpression => {
  if ((expression as Partial<hbs.AST.PathExpression>).parts)
    return expression as hbs.AST.PathExpression;
  const original = String((expression as hbs.AST.Literal & { original: unknown }).original);
  return {
    type: 'PathExpression',
    data: false,
    depth: 0,
    parts: [original],
    original,
    loc: expression.loc,
  };
};

/** Whether Handlebars would call a helper for this raw mustache rather than read a field. */
const callsHelper = (mustache: Mustache, blockParams: ReadonlySet<string>): boolean => {
  if (Handlebars.AST.helpers.helperExpression(mustache)) return true;
  const path = asPath(mustache.path);
  if (!Handlebars.AST.helpers.simpleId(path) || blockParams.has(path.parts[0]!)) return false;
  const name = path.parts[0]!;
  return Object.hasOwn(KNOWN_HELPERS, name)
    ? KNOWN_HELPERS[name]!
    : BUILT_IN_HELPERS.includes(name);
};

const helperCall = (name: string, argument: hbs.AST.Expression, loc: hbs.AST.SourceLocation) => ({
  path: { type: 'PathExpression', data: false, depth: 0, parts: [name], original: name, loc },
  params: [argument],
});

/** `{{x}}` becomes `{{{__jsonText x}}}` and `{{{x}}}` becomes `{{{__rawText x}}}`. */
const routeThroughHelper = (mustache: Mustache, blockParams: ReadonlySet<string>): void => {
  const call = mustache.escaped
    ? mustache.params.length > 0 || mustache.hash
    : callsHelper(mustache, blockParams);
  const argument: hbs.AST.Expression = call
    ? ({
        type: 'SubExpression',
        path: mustache.path,
        params: mustache.params,
        hash: mustache.hash,
        loc: mustache.loc,
      } as hbs.AST.SubExpression)
    : mustache.escaped
      ? mustache.path
      : asPath(mustache.path);
  const routed = helperCall(mustache.escaped ? JSON_TEXT : RAW_TEXT, argument, mustache.loc);
  mustache.path = routed.path;
  mustache.params = routed.params;
  mustache.hash = undefined as unknown as hbs.AST.Hash;
  mustache.escaped = false;
};

/** Routes every mustache through a counting helper and refuses what is not allowed. */
const rewrite = (node: Node, blockParams: ReadonlySet<string>): void => {
  switch (node.type) {
    case 'PartialStatement':
    case 'PartialBlockStatement':
    case 'DecoratorBlock':
    case 'Decorator': {
      const at = locationOf(node);
      throw new TemplateError(
        'partials and decorators are not supported',
        at?.line ?? null,
        at?.column ?? null,
      );
    }
    case 'MustacheStatement':
      routeThroughHelper(node as unknown as Mustache, blockParams);
      return;
    default: {
      const own = (node as Partial<hbs.AST.Program>).blockParams;
      const inScope =
        node.type === 'Program' && own && own.length > 0
          ? new Set([...blockParams, ...own])
          : blockParams;
      for (const value of Object.values(node)) {
        if (Array.isArray(value)) {
          for (const child of value)
            if (child && typeof child === 'object' && 'type' in child)
              rewrite(child as Node, inScope);
        } else if (value && typeof value === 'object' && 'type' in value)
          rewrite(value as Node, inScope);
      }
    }
  }
};

/**
 * JSON ends objects with '}', so a template often has `{{x}}}` (`"a": {{json x}}}`): Handlebars
 * reads that '}}}' as the end of a triple-stash (and '}}}}' as the end of a raw block) and fails.
 * Where a mustache's closing braces are followed by '}', an empty comment is put between them,
 * so the brace stays text.
 */
const separateClosingBraces = (source: string): string => {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open === -1) break;
    if (source[open - 1] === '\\') {
      out += source.slice(i, open + 2);
      i = open + 2;
      continue;
    }
    const triple = source[open + 2] === '{';
    const comment = source.startsWith('!--', open + 2) ? '--}}' : null;
    const closer = comment ?? (triple ? '}}}' : '}}');
    const close = source.indexOf(closer, open + (triple ? 3 : 2));
    if (close === -1) break;
    const end = close + closer.length;
    out += source.slice(i, end);
    if (!comment && source[end] === '}') out += '{{!}}';
    i = end;
  }
  return out + source.slice(i);
};

/**
 * A parse error as a TemplateError. Handlebars' own errors (a block closed by the wrong name)
 * carry their position; the parser's syntax errors do not, but its lexer still holds where it
 * stopped.
 */
const parseFailure = (error: unknown): TemplateError => {
  const message = error instanceof Error ? error.message : String(error);
  const { lineNumber, column } = error as { lineNumber?: number; column?: number };
  if (lineNumber !== undefined)
    return new TemplateError(
      message.replace(/ - \d+:\d+$/, ''),
      lineNumber,
      column === undefined ? null : column + 1,
    );
  const parser = (env as unknown as { Parser?: { lexer?: { yylloc?: unknown } } }).Parser;
  const loc = parser?.lexer?.yylloc as { first_line?: number; first_column?: number } | undefined;
  return new TemplateError(
    // The message quotes the source around the error, then says what was expected.
    message.split('\n').slice(3).join(' ') || message,
    loc?.first_line ?? null,
    loc?.first_column === undefined ? null : loc.first_column + 1,
  );
};

/** Renders a context; with limits, throws TemplateBudgetError as soon as one is exceeded. */
export type CompiledTemplate = (context: Record<string, unknown>, limits?: RenderLimits) => string;

interface HandlebarsCompilers {
  Compiler: new () => { compile(ast: hbs.AST.Program, options: object): unknown };
  JavaScriptCompiler: new () => {
    compile(environment: unknown, options: object, context: undefined, asObject: true): object;
  };
}
const compilers = env as unknown as HandlebarsCompilers;
const RUNTIME_OPTIONS = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false };

/**
 * Compiles now rather than on the first render (which is what env.compile does): the errors
 * surface here, and a render's time is spent rendering.
 */
const compileNow = (ast: hbs.AST.Program): HandlebarsTemplateDelegate => {
  try {
    const options = compileOptions();
    const environment = new compilers.Compiler().compile(ast, options);
    const spec = new compilers.JavaScriptCompiler().compile(environment, options, undefined, true);
    return env.template(spec);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const { lineNumber, column } = error as { lineNumber?: number; column?: number };
    throw new TemplateError(
      message.replace(/ - \d+:\d+$/, ''),
      lineNumber ?? null,
      column === undefined ? null : column + 1,
    );
  }
};

/** Parses and compiles a template; throws TemplateError with the position of what is wrong. */
export const compileTemplate = (source: string): CompiledTemplate => {
  let ast: hbs.AST.Program;
  try {
    ast = env.parse(separateClosingBraces(source));
  } catch (error) {
    throw parseFailure(error);
  }
  rewrite(ast as unknown as Node, new Set());
  const render = compileNow(ast);
  return (context, limits) => {
    const outer = meter;
    meter = limits ? new RenderMeter(limits) : null;
    try {
      const output = render(context, RUNTIME_OPTIONS);
      meter?.finish(output);
      return output;
    } finally {
      meter = outer;
    }
  };
};

const compiled = new Map<string, CompiledTemplate>();
// A compiled template takes about 20 bytes per character of its source: some 40 MB at most.
const COMPILED_KEPT = 1_000;
const COMPILED_SOURCE_CHARS_KEPT = 2_000_000;
let compiledSourceChars = 0;

/** Compiled once per source text: every subscription's deliveries share them. */
export const compiledTemplate = (source: string): CompiledTemplate => {
  let template = compiled.get(source);
  if (!template) {
    template = compileTemplate(source);
    if (
      compiled.size >= COMPILED_KEPT ||
      compiledSourceChars + source.length > COMPILED_SOURCE_CHARS_KEPT
    ) {
      compiled.clear();
      compiledSourceChars = 0;
    }
    compiled.set(source, template);
    compiledSourceChars += source.length;
  }
  return template;
};

/** Whether compiledTemplate has this source already (compiling a large one takes a while). */
export const isCompiled = (source: string): boolean => compiled.has(source);

import Handlebars from 'handlebars';

/**
 * Subscription templates: Handlebars (as the Learning Hub's templates are) producing JSON.
 *
 * `{{x}}` is escaped for the inside of a JSON string, not for HTML: `"{{PublisherParticipantId}}"`
 * stays valid JSON whatever the id holds, and an object or number renders as its JSON. `{{json x}}`
 * renders any value as a JSON literal (quotes included, null when absent), `{{{x}}}` renders raw.
 * Templates may call only the helpers below; partials and decorators are refused.
 */
const env = Handlebars.create();

type Value = unknown;
const truthy = (value: Value): boolean =>
  Array.isArray(value) ? value.length > 0 : Boolean(value) && value !== '';

/** The helpers a template may call (a Handlebars options object arrives as the last argument). */
const HELPERS: Record<string, (...args: Value[]) => Value> = {
  json: (value) => new env.SafeString(JSON.stringify(value === undefined ? null : value) ?? 'null'),
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  and: (...args) => args.slice(0, -1).every(truthy),
  or: (...args) => args.slice(0, -1).some(truthy),
  not: (value) => !truthy(value),
  default: (value, fallback) =>
    value === undefined || value === null || value === '' ? fallback : value,
  upper: (value) => (typeof value === 'string' ? value.toUpperCase() : value),
  lower: (value) => (typeof value === 'string' ? value.toLowerCase() : value),
  concat: (...args) =>
    args
      .slice(0, -1)
      .map((part) =>
        part === undefined || part === null
          ? ''
          : typeof part === 'object'
            ? JSON.stringify(part)
            : String(part as string | number | boolean),
      )
      .join(''),
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
  if (value instanceof env.SafeString) return value;
  const text =
    typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value);
  return new env.SafeString(text ?? '');
};

for (const [name, helper] of Object.entries(HELPERS)) env.registerHelper(name, helper);
env.registerHelper(JSON_TEXT, jsonText);
// Templates run on every delivery: they must not write to the hub's logs.
env.unregisterHelper('log');

export const TEMPLATE_HELPERS = Object.keys(HELPERS);
const COMPILE_OPTIONS = {
  knownHelpersOnly: true,
  knownHelpers: {
    ...Object.fromEntries([...TEMPLATE_HELPERS, JSON_TEXT].map((name) => [name, true])),
    log: false,
  },
  // Missing fields render as nothing rather than failing the conversion.
  strict: false,
  preventIndent: true,
};

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

const locationOf = (node: Node): { line: number; column: number } | null => {
  const loc = node.loc as hbs.AST.SourceLocation | undefined;
  return loc ? { line: loc.start.line, column: loc.start.column + 1 } : null;
};

/** Rewrites every escaped `{{...}}` into `{{{__jsonText ...}}}` and refuses what is not allowed. */
const rewrite = (node: Node): void => {
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
    case 'MustacheStatement': {
      const mustache = node as unknown as hbs.AST.MustacheStatement & { escaped: boolean };
      if (!mustache.escaped) return;
      const simple = mustache.params.length === 0 && !mustache.hash;
      const helperPath: hbs.AST.PathExpression = {
        type: 'PathExpression',
        data: false,
        depth: 0,
        parts: [JSON_TEXT],
        original: JSON_TEXT,
        loc: mustache.loc,
      };
      const inner: hbs.AST.Expression = simple
        ? mustache.path
        : ({
            type: 'SubExpression',
            path: mustache.path,
            params: mustache.params,
            hash: mustache.hash,
            loc: mustache.loc,
          } as hbs.AST.SubExpression);
      mustache.path = helperPath;
      mustache.params = [inner];
      mustache.hash = undefined as unknown as hbs.AST.Hash;
      mustache.escaped = false;
      return;
    }
    default:
      for (const value of Object.values(node)) {
        if (Array.isArray(value)) {
          for (const child of value)
            if (child && typeof child === 'object' && 'type' in child) rewrite(child as Node);
        } else if (value && typeof value === 'object' && 'type' in value) rewrite(value as Node);
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

export type CompiledTemplate = (context: Record<string, unknown>) => string;

/** Parses and compiles a template; throws TemplateError with the position of what is wrong. */
export const compileTemplate = (source: string): CompiledTemplate => {
  let ast: hbs.AST.Program;
  try {
    ast = env.parse(separateClosingBraces(source));
  } catch (error) {
    throw parseFailure(error);
  }
  rewrite(ast as unknown as Node);
  try {
    // compile() defers its errors to the first render: precompile surfaces them now.
    env.precompile(ast, COMPILE_OPTIONS);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const { lineNumber, column } = error as { lineNumber?: number; column?: number };
    throw new TemplateError(
      message.replace(/ - \d+:\d+$/, ''),
      lineNumber ?? null,
      column === undefined ? null : column + 1,
    );
  }
  const render = env.compile(ast, COMPILE_OPTIONS);
  return (context) =>
    render(context, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
};

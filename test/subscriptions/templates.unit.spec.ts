import { InvalidInputError } from '../../src/errors/hub-error';
import { Position, RecordedEvent, START } from '../../src/event-store/event-store.port';
import { EventCategory, LearningEventEvent } from '../../src/publishing/learning-event.events';
import { cursorOf, decodeFeedCursor, feedCursor, START_CURSOR } from '../../src/http/log-cursor';
import { EventFeedItem, toFeedItem } from '../../src/subscriptions/feed-items';
import { categoryRules, TemplateSet } from '../../src/subscriptions/subscription.events';
import {
  checkTemplateSet,
  importsCategory,
  templateFor,
} from '../../src/subscriptions/template-set';
import {
  compileTemplate,
  RenderLimits,
  TEMPLATE_HELPERS,
  TemplateBudgetError,
  TemplateError,
} from '../../src/subscriptions/templates';
import {
  NESTED_EACH,
  NESTED_EACH_DATA,
  SLOW_COMPARISONS,
  SLOW_COMPARISONS_DATA,
} from './hostile-templates';

const render = (source: string, context: Record<string, unknown> = {}): string =>
  compileTemplate(source)(context);

/** What compileTemplate throws for a source, as plain data. */
const compileError = (source: string) => {
  try {
    compileTemplate(source);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    const { message, line, column } = error as TemplateError;
    return { message, line, column };
  }
  throw new Error(`${JSON.stringify(source)} compiled`);
};

/** The issues checkTemplateSet reports for a set. */
const setIssues = (raw: unknown) => {
  try {
    checkTemplateSet(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    const { code, issues } = error as InvalidInputError;
    return { code, issues };
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
};

describe('templates: {{x}} escapes for the inside of a JSON string', () => {
  it('escapes quotes, backslashes, newlines and control characters as JSON does', () => {
    const tricky = 'say "hi"\\ there\nnext\r\tline\u0001';
    const output = render('{"text": "{{x}}"}', { x: tricky });
    expect(output).toBe('{"text": "say \\"hi\\"\\\\ there\\nnext\\r\\tline\\u0001"}');
    expect(JSON.parse(output)).toEqual({ text: tricky });
  });

  it('leaves other unicode as it is', () => {
    expect(render('"{{x}}"', { x: 'Zoë 😀 ✓ <b>&amp;</b>' })).toBe('"Zoë 😀 ✓ <b>&amp;</b>"');
  });

  it('does not HTML-escape', () => {
    expect(render('{{x}}', { x: `<a href='x'>&</a>` })).toBe(`<a href='x'>&</a>`);
  });

  it('renders objects, arrays, numbers and booleans as JSON', () => {
    expect(render('{{x}}', { x: { a: 1, b: [1, 'two', null] } })).toBe(
      '{"a":1,"b":[1,"two",null]}',
    );
    expect(render('{{x}}', { x: [1, 2] })).toBe('[1,2]');
    expect(render('{{x}}', { x: 42.5 })).toBe('42.5');
    expect(render('{{x}}', { x: false })).toBe('false');
  });

  it('renders missing and null values as nothing', () => {
    expect(render('[{{x}}|{{y}}|{{a.b.c}}]', { y: null })).toBe('[||]');
  });

  it('reads nested fields', () => {
    expect(render('{{PublisherEventData.score}}', { PublisherEventData: { score: 9 } })).toBe('9');
  });
});

describe('templates: {{json x}} and {{{x}}}', () => {
  it('{{json x}} renders a JSON literal, null when missing', () => {
    expect(render('{{json x}}', { x: 'a"b' })).toBe('"a\\"b"');
    expect(render('{{json x}}', { x: { a: [1] } })).toBe('{"a":[1]}');
    expect(render('{{json x}}', { x: 0 })).toBe('0');
    expect(render('{{json x}}', { x: null })).toBe('null');
    expect(render('{{json x}}', {})).toBe('null');
  });

  it('{{{x}}} renders raw', () => {
    expect(render('{{{x}}}', { x: 'a"b\\c\n' })).toBe('a"b\\c\n');
    expect(render('{{{json x}}}', { x: 'a"' })).toBe('"a\\""');
  });
});

describe('templates: helpers and blocks', () => {
  it('offers exactly the documented helpers', () => {
    expect([...TEMPLATE_HELPERS].sort()).toEqual(
      [
        'and',
        'concat',
        'date',
        'default',
        'eq',
        'json',
        'lower',
        'ne',
        'not',
        'or',
        'upper',
      ].sort(),
    );
  });

  it('eq and ne compare strictly', () => {
    expect(render('{{eq a "x"}}|{{eq a b}}|{{ne a b}}|{{ne a "x"}}', { a: 'x', b: 'y' })).toBe(
      'true|false|true|false',
    );
    expect(render('{{eq a b}}', { a: '1', b: 1 })).toBe('false');
  });

  it('and, or and not treat empty strings and empty arrays as false', () => {
    const context = { one: 1, text: 'x', empty: '', none: [], some: [0] };
    expect(render('{{and one text some}}|{{and one empty}}|{{and one none}}', context)).toBe(
      'true|false|false',
    );
    expect(render('{{or empty none}}|{{or empty text}}|{{or missing}}', context)).toBe(
      'false|true|false',
    );
    expect(render('{{not empty}}|{{not none}}|{{not text}}|{{not missing}}', context)).toBe(
      'true|true|false|true',
    );
  });

  it('default replaces missing, null and empty values only', () => {
    expect(
      render(
        '{{default a "d"}}|{{default b "d"}}|{{default c "d"}}|{{default z "d"}}|{{default n "d"}}',
        {
          a: '',
          b: null,
          c: 'v',
          n: 0,
        },
      ),
    ).toBe('d|d|v|d|0');
  });

  it('upper and lower change strings and leave other values', () => {
    expect(render('{{upper s}}|{{lower s}}|{{upper n}}', { s: 'MiXé', n: 3 })).toBe('MIXÉ|mixé|3');
  });

  it('concat joins its arguments, objects as JSON, missing as nothing', () => {
    expect(render('{{{concat a "-" b "-" c "-" o}}}', { a: 'x', b: 3, c: null, o: { k: 1 } })).toBe(
      'x-3--{"k":1}',
    );
    // Escaped, the joined text is still safe inside a JSON string.
    expect(JSON.parse(render('"{{concat "say " q}}"', { q: '"hi"' }))).toBe('say "hi"');
  });

  it('date gives the UTC calendar date of an instant and leaves anything else', () => {
    expect(
      render('{{date a}}|{{date b}}|{{date c}}|{{date n}}', {
        a: '2026-11-19T09:00:00.000Z',
        b: '2026-11-19T23:30:00-02:00',
        c: 'not a date',
        n: 5,
      }),
    ).toBe('2026-11-19|2026-11-20|not a date|5');
  });

  it('helpers work in sub-expressions and blocks', () => {
    const source = '{{#if (eq kind "a")}}A{{else if (and x (not y))}}X{{else}}none{{/if}}';
    expect(render(source, { kind: 'a' })).toBe('A');
    expect(render(source, { kind: 'b', x: 1 })).toBe('X');
    expect(render(source, { kind: 'b', x: 1, y: 1 })).toBe('none');
    expect(render('{{#unless x}}no x{{/unless}}', {})).toBe('no x');
  });

  it('each iterates arrays and objects, escaping each value', () => {
    const source = '[{{#each items}}{{#unless @first}},{{/unless}}"{{this}}"{{/each}}]';
    const output = render(source, { items: ['a', 'b"c'] });
    expect(output).toBe('["a","b\\"c"]');
    expect(JSON.parse(output)).toEqual(['a', 'b"c']);
    expect(render('{{#each o}}{{@key}}={{this}};{{/each}}', { o: { a: 1, b: 'x' } })).toBe(
      'a=1;b=x;',
    );
  });

  it('with and lookup reach into objects', () => {
    expect(render('{{#with o}}{{k}}{{/with}}|{{lookup o "k"}}', { o: { k: 'v' } })).toBe('v|v');
  });

  it('a whole JSON template renders valid JSON', () => {
    const source = [
      '{',
      '  "id": "{{EventId}}",',
      '  "who": "{{upper PublisherParticipantId}}",',
      '  "score": {{json PublisherEventData.score}},',
      '  "passed": {{#if (eq EventType "LPI_COMP_SUCCESS")}}true{{else}}false{{/if}},',
      '  "on": "{{date EventStartUtc}}",',
      '  "tags": [{{#each PublisherEventData.tags}}{{#unless @first}}, {{/unless}}{{json this}}{{/each}}]',
      '}',
    ].join('\n');
    expect(
      JSON.parse(
        render(source, {
          EventId: 'NCBON-1',
          PublisherParticipantId: 'p-"1"',
          EventType: 'LPI_COMP_SUCCESS',
          EventStartUtc: '2026-11-19T09:00:00.000Z',
          PublisherEventData: { score: 93, tags: ['a', 'b\n'] },
        }),
      ),
    ).toEqual({
      id: 'NCBON-1',
      who: 'P-"1"',
      score: 93,
      passed: true,
      on: '2026-11-19',
      tags: ['a', 'b\n'],
    });
  });
});

describe('templates: closing braces of JSON after a mustache', () => {
  it.each([
    ['{"a": {{json x}}}', '{"a": 1}'],
    ['{"a": {"b": {{json x}}}}', '{"a": {"b": 1}}'],
    ['{"a": {{x}}}', '{"a": 1}'],
    ['{"a": {{default y x}}}', '{"a": 1}'],
    ['{"a": "{{x}}"}', '{"a": "1"}'],
  ])('compiles %s', (source, expected) => {
    expect(render(source, { x: 1 })).toBe(expected);
  });

  it('compiles a triple-stash at the end of a JSON object', () => {
    expect(render('{"a": {{{x}}}}', { x: '1' })).toBe('{"a": 1}');
  });

  it('keeps an escaped mustache as text', () => {
    expect(render('\\{{x}}', { x: 1 })).toBe('{{x}}');
  });
});

describe('templates: errors on compile', () => {
  it('reports syntax errors with their 1-based line and column', () => {
    expect(compileError('{{x')).toMatchObject({ line: 1, column: 3 });
    expect(compileError('ab\ncd {{ }}')).toMatchObject({ line: 2, column: 7 });
    expect(compileError('{\n  "a": {{x}\n}')).toMatchObject({ line: 2, column: 11 });
    const unclosed = compileError('{{#each items}}');
    expect(unclosed).toMatchObject({ line: 1, column: 16 });
    expect(unclosed.message).toMatch(/got 'EOF'/);
  });

  it('reports a block closed by another name, without Handlebars’ own 0-based position', () => {
    expect(compileError('line1\n  {{#if x}}\n{{/each}}')).toEqual({
      message: "if doesn't match each",
      line: 2,
      column: 6,
    });
  });

  it('refuses unknown helpers, with their position', () => {
    expect(compileError('{{foo x}}')).toEqual({
      message: 'You specified knownHelpersOnly, but used the unknown helper foo',
      line: 1,
      column: 1,
    });
    expect(compileError('{\n\n   "a": {{foo 1}}}')).toMatchObject({ line: 3, column: 9 });
    expect(compileError('{{#each items}}\n{{bar this}}\n{{/each}}')).toMatchObject({
      message: 'You specified knownHelpersOnly, but used the unknown helper bar',
      line: 2,
      column: 1,
    });
    expect(compileError('{{json (nope 1)}}')).toMatchObject({ line: 1, column: 8 });
    expect(compileError('{{#foo x}}{{/foo}}').message).toMatch(/unknown helper foo/);
    // A field called with arguments is a helper call too.
    expect(compileError('{{x "a"}}').message).toMatch(/unknown helper x/);
  });

  it('refuses log, which would write to the hub’s logs', () => {
    expect(compileError('{{log x}}').message).toMatch(/unknown helper log/);
    expect(compileError('{{#if a}}{{log "x"}}{{/if}}').message).toMatch(/unknown helper log/);
  });

  it.each([
    ['a partial', '{{> part}}'],
    ['a partial block', '{{#> layout}}x{{/layout}}'],
    ['a decorator', '{{* deco}}'],
    ['a partial inside a block', '{{#if a}}\n  {{> part}}{{/if}}'],
  ])('refuses %s', (_, source) => {
    expect(compileError(source).message).toBe('partials and decorators are not supported');
  });

  it('gives the position of a refused partial', () => {
    expect(compileError('{{#if a}}\n  {{> part}}{{/if}}')).toMatchObject({ line: 2, column: 3 });
  });
});

describe('templates: no prototype access', () => {
  it('renders nothing for properties of the prototype', () => {
    expect(
      render(
        '[{{constructor.name}}|{{x.constructor}}|{{__proto__}}|{{x.__proto__.constructor.name}}|{{lookup . "constructor"}}|{{#with constructor}}{{name}}{{/with}}]',
        { x: 'a' },
      ),
    ).toBe('[|||||]');
  });

  it('still reads own properties of those names', () => {
    expect(render('{{o.constructor}}', { o: { constructor: 'mine' } })).toBe('mine');
  });
});

/** What a render within `limits` gives: its output, or which budget stopped it. */
const limited = (
  source: string,
  context: Record<string, unknown>,
  limits: Partial<RenderLimits>,
): string | { over: string; limit: number; message: string } => {
  try {
    return compileTemplate(source)(context, { ...UNLIMITED, ...limits });
  } catch (error) {
    if (!(error instanceof TemplateBudgetError)) throw error;
    return { over: error.budget, limit: error.limit, message: error.message };
  }
};
const UNLIMITED: RenderLimits = {
  maxIterations: Number.MAX_SAFE_INTEGER,
  maxOutputChars: Number.MAX_SAFE_INTEGER,
  maxMilliseconds: null,
};

describe('templates: budgets of a render', () => {
  const three = { a: [1, 2, 3], o: { x: 1, y: 2, z: 3 } };

  it('counts every iteration of every each block, nested ones included', () => {
    // 3 outer iterations and 3 × 3 inner ones.
    const nested = '{{#each a}}{{#each ../a}}.{{/each}}{{/each}}';
    expect(limited(nested, three, { maxIterations: 12 })).toBe('.........');
    expect(limited(nested, three, { maxIterations: 11 })).toEqual({
      over: 'iterations',
      limit: 11,
      message: 'the template went over its budget of 11 iterations',
    });
  });

  it('counts a block over an array (blockHelperMissing) and each over an object’s keys', () => {
    expect(limited('{{#a}}{{this}}{{/a}}', three, { maxIterations: 3 })).toBe('123');
    expect(limited('{{#a}}{{this}}{{/a}}', three, { maxIterations: 2 })).toMatchObject({
      over: 'iterations',
    });
    expect(limited('{{#each o}}{{@key}}{{/each}}', three, { maxIterations: 3 })).toBe('xyz');
    expect(limited('{{#each o}}{{@key}}{{/each}}', three, { maxIterations: 2 })).toMatchObject({
      over: 'iterations',
    });
  });

  it('stops three nested each over 200 elements (finding 4) at the iteration budget', () => {
    const list = Array.from({ length: 200 }, (_, i) => i);
    const source =
      '[{{#each list}}{{#each ../list}}{{#each ../../list}}{{this}},{{/each}}{{/each}}{{/each}}0]';
    expect(limited(source, { list }, { maxIterations: 20_000 })).toMatchObject({
      over: 'iterations',
      limit: 20_000,
    });
  });

  it('counts the output exactly: mustaches, raw mustaches, json and the text of iterations', () => {
    const source = '<{{x}}|{{{x}}}|{{json x}}|{{#each a}}ab{{this}}{{/each}}>';
    const context = { x: 'q"', a: [1, 2] };
    const output = '<q\\"|q"|"q\\""|ab1ab2>';
    expect(compileTemplate(source)(context)).toBe(output);
    expect(limited(source, context, { maxOutputChars: output.length })).toBe(output);
    expect(limited(source, context, { maxOutputChars: output.length - 1 })).toEqual({
      over: 'output',
      limit: output.length - 1,
      message: `the template went over its budget of ${output.length - 1} characters of output`,
    });
  });

  it('stops a flood of output as it grows, loop or not', () => {
    const big = 'x'.repeat(10_000);
    // 100 raw copies would be a million characters; a hundred thousand are allowed.
    const flood = '{{{big}}}'.repeat(100);
    expect(limited(flood, { big }, { maxOutputChars: 100_000 })).toMatchObject({ over: 'output' });
    expect(
      limited('{{#each a}}{{../big}}{{/each}}', { big, a: three.a }, { maxOutputChars: 29_999 }),
    ).toMatchObject({ over: 'output' });
    // Text written by the iterations themselves counts too.
    const text = `{{#each a}}${'t'.repeat(1_000)}{{/each}}`;
    expect(limited(text, three, { maxOutputChars: 3_000 })).toBe('t'.repeat(3_000));
    expect(limited(text, three, { maxOutputChars: 2_999 })).toMatchObject({ over: 'output' });
  });

  it('refuses helper results larger than the output budget, even when nothing is written', () => {
    const source = '{{#if (eq (concat x x x x) "")}}{{/if}}done';
    const x = 'y'.repeat(100);
    expect(limited(source, { x }, { maxOutputChars: 404 })).toBe('done');
    expect(limited(source, { x }, { maxOutputChars: 399 })).toMatchObject({ over: 'output' });
    expect(limited('{{#if (upper x)}}{{/if}}', { x }, { maxOutputChars: 99 })).toMatchObject({
      over: 'output',
    });
    expect(limited('{{#if (json x)}}{{/if}}', { x }, { maxOutputChars: 101 })).toMatchObject({
      over: 'output',
    });
  });

  it('stops a render that no counter stops at its time budget', () => {
    const stopped = limited(
      SLOW_COMPARISONS,
      { PublisherEventData: SLOW_COMPARISONS_DATA },
      {
        maxIterations: 20_000,
        maxMilliseconds: 20,
      },
    );
    expect(stopped).toEqual({
      over: 'time',
      limit: 20,
      message: 'the template went over its budget of 20 ms',
    });
  });

  it('leaves renders within their budgets as they were', () => {
    const source = '{"n": [{{#each a}}{{#unless @first}},{{/unless}}{{json this}}{{/each}}]}';
    expect(limited(source, three, { maxIterations: 3, maxOutputChars: 15 })).toBe('{"n": [1,2,3]}');
  });
});

describe('checkTemplateSet', () => {
  it('normalises a valid set: action defaults to import, label to null, no template when ignored', () => {
    expect(
      checkTemplateSet({
        COURSE: { template: '{"a": {{json PublisherEventData}}}' },
        CREDENTIAL: { action: 'import', label: 'Credential', template: '{"c": 1}' },
        SPAM: { action: 'ignore', template: 'whatever {{', label: 'Spam' },
        '*_default': { action: 'ignore' },
      }),
    ).toEqual({
      COURSE: { action: 'import', label: null, template: '{"a": {{json PublisherEventData}}}' },
      CREDENTIAL: { action: 'import', label: 'Credential', template: '{"c": 1}' },
      SPAM: { action: 'ignore', label: 'Spam', template: null },
      '*_default': { action: 'ignore', label: null, template: null },
    });
  });

  it('refuses a set whose distinct templates hold more than 1,000 expressions together, compiling none', () => {
    const template = (n: number) => `[${Array.from({ length: n }, () => '{{x}}').join(',')}]`;
    // 600 + 401: over; the same 600 twice counts once; ignored entries are not compiled.
    expect(setIssues({ A: { template: template(600) }, B: { template: template(401) } })).toEqual({
      code: 'INVALID_TEMPLATE',
      issues: [
        {
          field: 'templates',
          message: 'its templates may hold at most 1000 {{…}} expressions together',
        },
      ],
    });
    expect(
      Object.keys(
        checkTemplateSet({
          A: { template: template(600) },
          B: { template: template(600) },
          C: { action: 'ignore', template: template(900) },
        }),
      ),
    ).toEqual(['A', 'B', 'C']);
  });

  it('refuses something that is not an object', () => {
    for (const raw of [null, [], 'COURSE', 3])
      expect(setIssues(raw)).toEqual({
        code: 'INVALID_INPUT',
        issues: [
          {
            field: 'templates',
            message: 'must be an object keyed by category value or *_default',
          },
        ],
      });
  });

  it('refuses an empty set', () => {
    expect(setIssues({})).toEqual({
      code: 'INVALID_TEMPLATE',
      issues: [{ field: 'templates', message: 'must name at least one category or *_default' }],
    });
  });

  it('refuses a bad action, a missing template on import and unknown entry fields', () => {
    expect(setIssues({ COURSE: { action: 'skip' } }).issues).toEqual([
      { field: 'templates.COURSE.action', message: 'must be import or ignore' },
    ]);
    for (const entry of [{}, { action: 'import' }, { template: '  ' }, { template: 7 }])
      expect(setIssues({ COURSE: entry }).issues).toEqual([
        { field: 'templates.COURSE.template', message: 'is required to import a category' },
      ]);
    expect(setIssues({ COURSE: { template: '{}', format: 'json' } }).issues).toEqual([
      { field: 'templates.COURSE.format', message: 'is not a field of a template entry' },
    ]);
  });

  it('refuses entries that are not objects, bad labels, bad keys and non-string ignored templates', () => {
    expect(setIssues({ COURSE: 'import' }).issues).toEqual([
      { field: 'templates.COURSE', message: 'must be an object {action, label, template}' },
    ]);
    expect(setIssues({ COURSE: { template: '{}', label: 'l'.repeat(201) } }).issues).toEqual([
      { field: 'templates.COURSE.label', message: 'must be a string of at most 200 characters' },
    ]);
    expect(setIssues({ ' ': { template: '{}' } }).issues).toEqual([
      { field: 'templates. ', message: 'a category value is 1 to 100 characters' },
    ]);
    expect(setIssues({ ['k'.repeat(101)]: { template: '{}' } }).issues).toEqual([
      { field: `templates.${'k'.repeat(101)}`, message: 'a category value is 1 to 100 characters' },
    ]);
    expect(setIssues({ SPAM: { action: 'ignore', template: 5 } }).issues).toEqual([
      { field: 'templates.SPAM.template', message: 'must be a string' },
    ]);
    expect(
      checkTemplateSet({ ['k'.repeat(100)]: { template: '{}', label: 'l'.repeat(200) } }),
    ).toEqual({ ['k'.repeat(100)]: { action: 'import', label: 'l'.repeat(200), template: '{}' } });
  });

  it('reports every problem at once, templates with their line and column', () => {
    expect(
      setIssues({
        COURSE: { template: '{\n  "a": {{x}\n}' },
        CREDENTIAL: { template: '{"b": {{foo 1}}}' },
        GOOD: { template: '{"ok": true}' },
        BAD: { action: 'maybe', extra: true },
        PART: { template: '{{> p}}' },
      }),
    ).toEqual({
      code: 'INVALID_TEMPLATE',
      issues: [
        {
          field: 'templates.COURSE.template',
          message: expect.stringMatching(/^line 2, column 11: /),
        },
        {
          field: 'templates.CREDENTIAL.template',
          message:
            'line 1, column 7: You specified knownHelpersOnly, but used the unknown helper foo',
        },
        { field: 'templates.BAD.extra', message: 'is not a field of a template entry' },
        { field: 'templates.BAD.action', message: 'must be import or ignore' },
        {
          field: 'templates.PART.template',
          message: 'line 1, column 1: partials and decorators are not supported',
        },
      ],
    });
  });

  it('names the field it was given', () => {
    expect(() => checkTemplateSet({}, 'body.templates')).toThrow(
      expect.objectContaining({
        issues: [
          { field: 'body.templates', message: 'must name at least one category or *_default' },
        ],
      }),
    );
    expect(() => checkTemplateSet({ C: { action: 'x' } }, 'body.templates')).toThrow(
      expect.objectContaining({
        issues: [{ field: 'body.templates.C.action', message: 'must be import or ignore' }],
      }),
    );
  });

  it('does not let a __proto__ key replace the set’s prototype', () => {
    const raw: unknown = JSON.parse(
      '{"__proto__": {"action": "ignore"}, "*_default": {"template": "{}"}}',
    );
    let set: TemplateSet | null = null;
    try {
      set = checkTemplateSet(raw);
    } catch (error) {
      // Refusing the key is as good as keeping it.
      expect(error).toBeInstanceOf(InvalidInputError);
    }
    if (set !== null) {
      expect(Object.getPrototypeOf(set)).toBe(Object.prototype);
      expect(Object.keys(set)).toEqual(['__proto__', '*_default']);
    }
  });
});

const SET: TemplateSet = {
  COURSE: { action: 'import', label: 'Course', template: '{"course": "{{EventId}}"}' },
  CREDENTIAL: { action: 'import', label: null, template: '{"credential": {{json Kind}}}' },
  SPAM: { action: 'ignore', label: 'Spam', template: null },
  '*_default': { action: 'import', label: 'Other', template: '{"other": "{{Kind}}"}' },
};
const NO_DEFAULT: TemplateSet = {
  COURSE: SET.COURSE!,
  SPAM: SET.SPAM!,
};
const IGNORE_DEFAULT: TemplateSet = {
  COURSE: SET.COURSE!,
  '*_default': { action: 'ignore', label: null, template: null },
};

describe('templateFor, importsCategory, categoryRules', () => {
  it('picks the category’s own entry, else *_default', () => {
    expect(templateFor(SET, 'COURSE')).toEqual({ key: 'COURSE', entry: SET.COURSE });
    expect(templateFor(SET, 'SPAM')).toEqual({ key: 'SPAM', entry: SET.SPAM });
    expect(templateFor(SET, 'OTHER')).toEqual({ key: '*_default', entry: SET['*_default'] });
    expect(templateFor(SET, null)).toEqual({ key: '*_default', entry: SET['*_default'] });
  });

  it('finds nothing without a *_default', () => {
    expect(templateFor(NO_DEFAULT, 'OTHER')).toBeNull();
    expect(templateFor(NO_DEFAULT, null)).toBeNull();
    expect(importsCategory(NO_DEFAULT, 'OTHER')).toBe(false);
    expect(importsCategory(NO_DEFAULT, null)).toBe(false);
  });

  it('imports what an import entry covers, and not what is ignored', () => {
    expect(importsCategory(SET, 'COURSE')).toBe(true);
    expect(importsCategory(SET, 'OTHER')).toBe(true);
    expect(importsCategory(SET, 'SPAM')).toBe(false);
    expect(importsCategory(IGNORE_DEFAULT, 'OTHER')).toBe(false);
    expect(importsCategory(IGNORE_DEFAULT, 'COURSE')).toBe(true);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'falls back to *_default for a category named %s',
    (category) => {
      expect(templateFor(SET, category)).toEqual({ key: '*_default', entry: SET['*_default'] });
      expect(importsCategory(SET, category)).toBe(true);
      expect(templateFor(NO_DEFAULT, category)).toBeNull();
    },
  );

  it('categoryRules lists the imported and ignored categories and the default', () => {
    expect(categoryRules(SET)).toEqual({
      importCategories: ['COURSE', 'CREDENTIAL'],
      ignoreCategories: ['SPAM'],
      defaultImport: true,
    });
    expect(categoryRules(NO_DEFAULT)).toEqual({
      importCategories: ['COURSE'],
      ignoreCategories: ['SPAM'],
      defaultImport: false,
    });
    expect(categoryRules(IGNORE_DEFAULT).defaultImport).toBe(false);
  });
});

const EVENT_ID = 'NCBON-0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d';
const POSITION = '00000000000000000010:00000000000000000003' as Position;
const RECORDED_AT = new Date('2026-12-01T10:00:00.123Z');
const CREATED = '2026-11-20T08:00:00.000Z';
const AMENDED = '2026-11-25T08:00:00.000Z';
const RETRACTED = '2026-11-28T08:00:00.000Z';

const content = (category: EventCategory | null) => ({
  PublisherProgramId: 'NCBON',
  PublisherSystemId: 'LB',
  EventType: 'LPI_COMP_SUCCESS',
  PublisherEventId: 'lb-42',
  PublisherParticipantId: 'p-1',
  PublisherEventCategory: category,
  PublisherEventData: { score: 93 },
  EventStartUtc: '2026-11-19T09:00:00.000Z',
  EventEndUtc: null,
});
const COURSE = { value: 'COURSE', label: 'Course' };

const recorded = (event: LearningEventEvent, position = POSITION): RecordedEvent => ({
  id: '7f1c1a3e-0000-4000-8000-000000000001',
  type: event.type,
  data: event.data,
  metadata: {},
  stream: 'learning-event-NCBON/0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d',
  revision: 0n,
  position,
  recordedAt: RECORDED_AT,
});
const published = (category: EventCategory | null = COURSE) =>
  recorded({
    type: 'LearningEventPublished',
    data: { EventId: EVENT_ID, ...content(category), CreatedUtc: CREATED },
  });
const amended = (category: EventCategory | null, previous: string | null) =>
  recorded({
    type: 'LearningEventAmended',
    data: {
      EventId: EVENT_ID,
      ...content(category),
      CreatedUtc: CREATED,
      AmendedUtc: AMENDED,
      PreviousCategoryValue: previous,
    },
  });
const retracted = (category: EventCategory | null = COURSE) => {
  const {
    PublisherEventData: _data,
    EventStartUtc: _start,
    EventEndUtc: _end,
    ...ids
  } = content(category);
  return recorded({
    type: 'LearningEventRetracted',
    data: { EventId: EVENT_ID, ...ids, CreatedUtc: CREATED, RetractedUtc: RETRACTED },
  });
};

const item = (overrides: Partial<EventFeedItem>): EventFeedItem => ({
  cursor: feedCursor(POSITION),
  kind: 'published',
  eventId: EVENT_ID,
  publisherProgramId: 'NCBON',
  publisherSystemId: 'LB',
  publisherEventId: 'lb-42',
  participantId: 'p-1',
  eventType: 'LPI_COMP_SUCCESS',
  category: COURSE,
  template: 'COURSE',
  label: 'Course',
  createdUtc: CREATED,
  amendedUtc: null,
  retractedUtc: null,
  recordedUtc: '2026-12-01T10:00:00.123Z',
  payload: { course: EVENT_ID },
  conversionError: null,
  ...overrides,
});

describe('toFeedItem', () => {
  it('converts a publication with the category’s template', () => {
    expect(toFeedItem(published(), SET)).toEqual(item({}));
  });

  it('uses *_default for other and uncategorised events, with Kind in the context', () => {
    expect(toFeedItem(published({ value: 'OTHER', label: null }), SET)).toEqual(
      item({
        category: { value: 'OTHER', label: null },
        template: '*_default',
        label: 'Other',
        payload: { other: 'published' },
      }),
    );
    expect(toFeedItem(published(null), SET)).toEqual(
      item({
        category: null,
        template: '*_default',
        label: 'Other',
        payload: { other: 'published' },
      }),
    );
  });

  it('skips ignored categories, and categories nothing covers', () => {
    expect(toFeedItem(published({ value: 'SPAM', label: null }), SET)).toBeNull();
    expect(toFeedItem(published({ value: 'OTHER', label: null }), NO_DEFAULT)).toBeNull();
    expect(toFeedItem(published(null), IGNORE_DEFAULT)).toBeNull();
  });

  it('converts an amendment with the new content', () => {
    const credential = { value: 'CREDENTIAL', label: null };
    expect(toFeedItem(amended(credential, 'COURSE'), SET)).toEqual(
      item({
        kind: 'amended',
        category: credential,
        template: 'CREDENTIAL',
        label: null,
        amendedUtc: AMENDED,
        payload: { credential: 'amended' },
      }),
    );
    expect(toFeedItem(amended(COURSE, 'COURSE'), SET)).toEqual(
      item({ kind: 'amended', amendedUtc: AMENDED }),
    );
  });

  it('sends an amendment into an ignored category as a retraction, under the old template', () => {
    const spam = { value: 'SPAM', label: null };
    expect(toFeedItem(amended(spam, 'COURSE'), SET)).toEqual(
      item({
        kind: 'retracted',
        category: spam,
        template: 'COURSE',
        label: 'Course',
        amendedUtc: AMENDED,
        payload: null,
      }),
    );
  });

  it('skips an amendment that stays outside the imported categories', () => {
    expect(toFeedItem(amended({ value: 'SPAM', label: null }, 'SPAM'), SET)).toBeNull();
    expect(toFeedItem(amended({ value: 'SPAM', label: null }, null), IGNORE_DEFAULT)).toBeNull();
  });

  it('sends retractions of imported categories without a payload, and skips ignored ones', () => {
    expect(toFeedItem(retracted(), SET)).toEqual(
      item({ kind: 'retracted', retractedUtc: RETRACTED, payload: null }),
    );
    expect(toFeedItem(retracted({ value: 'SPAM', label: null }), SET)).toBeNull();
  });

  it('reports output that is not JSON instead of a payload', () => {
    const broken: TemplateSet = {
      '*_default': { action: 'import', label: null, template: '{"id": {{EventId}}}' },
    };
    expect(toFeedItem(published(), broken)).toMatchObject({
      payload: null,
      conversionError: `the template did not produce JSON: {"id": ${EVENT_ID}}`,
    });
    const long: TemplateSet = {
      '*_default': { action: 'import', label: null, template: `${'x'.repeat(250)}` },
    };
    expect((toFeedItem(published(), long) as EventFeedItem | null)?.conversionError).toBe(
      `the template did not produce JSON: ${'x'.repeat(200)}…`,
    );
  });

  it('reports a template that fails while rendering', () => {
    const failing: TemplateSet = {
      '*_default': { action: 'import', label: null, template: '{{#if}}{{/if}}' },
    };
    expect(toFeedItem(published(), failing)).toMatchObject({
      kind: 'published',
      payload: null,
      conversionError: 'the template failed: #if requires exactly one argument',
    });
  });

  it('stops a template that iterates too much with the default counting limits', () => {
    const hostile: TemplateSet = {
      '*_default': { action: 'import', label: null, template: NESTED_EACH },
    };
    const event = published();
    const withList = {
      ...event,
      data: { ...(event.data as object), PublisherEventData: NESTED_EACH_DATA },
    };
    expect(toFeedItem(withList, hostile)).toMatchObject({
      payload: null,
      conversionError: 'the template went over its budget of 20000 iterations',
    });
  });

  it('converts an event whose category shares a name with an Object property via *_default', () => {
    expect(toFeedItem(published({ value: 'constructor', label: null }), SET)).toEqual(
      item({
        category: { value: 'constructor', label: null },
        template: '*_default',
        label: 'Other',
        payload: { other: 'published' },
      }),
    );
  });

  it('puts the position of the recorded event in the cursor', () => {
    const later = '00000000000000000011:00000000000000000000' as Position;
    const converted = toFeedItem({ ...published(), position: later }, SET);
    expect(converted?.cursor).toBe(feedCursor(later));
    expect(decodeFeedCursor(converted!.cursor)).toBe(later);
  });
});

describe('feed cursors', () => {
  it('round-trip a position', () => {
    const cursor = feedCursor(POSITION);
    expect(cursor).toBe(Buffer.from(POSITION).toString('base64url'));
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeFeedCursor(cursor)).toBe(POSITION);
    expect(cursorOf(POSITION)).toBe(cursor);
  });

  it('keep the order of positions distinct', () => {
    const a = feedCursor('00000000000000000010:00000000000000000003' as Position);
    const b = feedCursor('00000000000000000010:00000000000000000004' as Position);
    expect(a).not.toBe(b);
  });

  it('read "start" as the start of the log', () => {
    expect(START_CURSOR).toBe('start');
    expect(decodeFeedCursor('start')).toBe(START);
    expect(cursorOf(START)).toBe('start');
  });

  it.each([
    ['empty', ''],
    ['text', 'hello'],
    ['a raw position', '00000000000000000010:00000000000000000003'],
    ['base64 of something else', Buffer.from('10:3').toString('base64url')],
    [
      'a position with a short part',
      Buffer.from('0000000000000000010:00000000000000000003').toString('base64url'),
    ],
    ['padded base64', `${feedCursor(POSITION)}==`],
    ['standard base64 with padding', Buffer.from(`${POSITION}x`).toString('base64')],
    ['a cursor with trailing junk', `${feedCursor(POSITION)}!`],
    ['START in capitals', 'START'],
  ])('refuse %s (INVALID_CURSOR)', (_, cursor) => {
    let thrown: unknown;
    try {
      decodeFeedCursor(cursor, 'Last-Event-ID');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect(thrown).toMatchObject({
      code: 'INVALID_CURSOR',
      issues: [
        {
          field: 'Last-Event-ID',
          message: 'use a cursor from a feed page, an SSE event id, or start',
        },
      ],
    });
  });
});

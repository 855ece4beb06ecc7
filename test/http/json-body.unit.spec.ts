import { HubError } from '../../src/errors/hub-error';
import { MAX_JSON_DEPTH, parseJsonBody } from '../../src/http/json-body';
import { parseTextBody } from '../../src/http/body-parsers';
import { unstorableCharacter } from '../../src/http/storable-text';

const parse = (text: string | Buffer) =>
  parseJsonBody(typeof text === 'string' ? Buffer.from(text) : text);

/** The HubError `act` throws (fails the test when it throws none, or something else). */
const refusal = (act: () => unknown): HubError => {
  try {
    act();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('unstorableCharacter', () => {
  it.each([
    ['plain text', 'Ethics 101', null],
    ['a surrogate pair', 'ok 😀', null],
    ['NUL', 'a\u0000b', 'NUL (U+0000)'],
    ['a lone high surrogate', 'a\ud83d', 'a lone surrogate (U+D83D)'],
    ['a lone low surrogate', '\ude00a', 'a lone surrogate (U+DE00)'],
    ['a reversed pair', '\ude00\ud83d', 'a lone surrogate (U+DE00)'],
  ])('%s', (_, text, expected) => {
    expect(unstorableCharacter(text)).toBe(expected);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON, dropping a BOM', () => {
    expect(parse('\ufeff{"a": [1, "b", {"c": null}]}')).toEqual({ a: [1, 'b', { c: null }] });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more, counting only outside strings`, () => {
    expect(parse(nested(MAX_JSON_DEPTH))).toBeDefined();
    expect(refusal(() => parse(nested(MAX_JSON_DEPTH + 1))).code).toBe('JSON_TOO_DEEP');
    // Brackets in strings, escaped quotes included, are text.
    expect(parse(`["\\"${'['.repeat(500)}", ${nested(MAX_JSON_DEPTH - 1)}]`)).toBeDefined();
  });

  it('refuses a million levels quickly, without a stack overflow', () => {
    expect(refusal(() => parse(nested(1_000_000))).code).toBe('JSON_TOO_DEEP');
  });

  it('names the JSON pointer of unstorable text, escaping ~ and / and the bad key itself', () => {
    const value = refusal(() => parse('{"a/b": {"c~d": [0, "x\\u0000"]}}'));
    expect(value.code).toBe('INVALID_TEXT');
    expect(value.details).toEqual({
      in: 'body',
      issues: [{ field: '#/a~1b/c~0d/1', message: expect.stringContaining('NUL') }],
    });
    const key = refusal(() => parse('{"ok": 1, "\\udc00": 2}'));
    expect(key.details.issues).toEqual([
      { field: '#/\\uDC00', message: expect.stringContaining('U+DC00') },
    ]);
    expect(refusal(() => parse('"\\ud800"')).details.issues).toEqual([
      { field: '#', message: expect.any(String) },
    ]);
  });

  it('lets escaped text through that only looks unstorable', () => {
    expect(parse('{"a": "\\\\u0000", "b": "\\ud83d\\ude00", "c": "\\u00e9"}')).toEqual({
      a: '\\u0000',
      b: '😀',
      c: 'é',
    });
  });

  it.each([
    ['an empty body', '', 'EMPTY_JSON_BODY'],
    ['malformed JSON', '{"a": ', 'MALFORMED_JSON'],
    ['an unterminated string', '{"a": "b', 'MALFORMED_JSON'],
    ['a __proto__ key', '{"__proto__": {"admin": true}}', 'FORBIDDEN_JSON_KEY'],
    ['an escaped __proto__ key', '{"\\u005f_proto__": {}}', 'FORBIDDEN_JSON_KEY'],
    ['constructor.prototype', '{"constructor": {"prototype": {}}}', 'FORBIDDEN_JSON_KEY'],
  ])('refuses %s', (_, text, code) => {
    expect(refusal(() => parse(text)).code).toBe(code);
  });

  it('refuses bytes that are not UTF-8', () => {
    const error = refusal(() => parse(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])));
    expect(error.code).toBe('INVALID_TEXT');
    // A surrogate encoded as UTF-8 (CESU-8) is not UTF-8 either.
    expect(refusal(() => parse(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).code).toBe(
      'INVALID_TEXT',
    );
  });
});

describe('parseTextBody', () => {
  it('passes text through and names the line holding NUL', () => {
    expect(parseTextBody(Buffer.from('userId\nu-1\n'))).toBe('userId\nu-1\n');
    expect(refusal(() => parseTextBody(Buffer.from('userId\r\nu-1\r\nu\u00002'))).details).toEqual({
      in: 'body',
      issues: [{ field: 'line 3', message: expect.any(String) }],
    });
  });
});

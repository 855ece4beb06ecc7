import { ErrorCode } from '../errors/error-codes';
import { parse as parseRefusingPoison } from 'secure-json-parse';
import { HubError, InvalidInputError } from '../errors/hub-error';
import { decodeUtf8Body, invalidText, printable, unstorableCharacter } from './storable-text';

/** Arrays and objects nest at most this deep in a request body; a batch of events needs 3 + data. */
export const MAX_JSON_DEPTH = 64;

interface JsonShape {
  tooDeep: boolean;
  /** A \u escape of NUL or a surrogate: only such escapes can put unstorable text in a JSON string. */
  escapesUnstorable: boolean;
}

const QUOTE = 0x22;

const isUnstorableEscape = (text: string, at: number): boolean => {
  const code = text.slice(at, at + 4).toLowerCase();
  return code === '0000' || (code[0] === 'd' && '89abcdef'.includes(code[1] ?? ''));
};

// Inside a string only a quote (its end) or a backslash (an escape) matters: jump between them.
const STRING_STOP = /["\\]/g;

/** The index of the quote that ends the string opened just before `from`, or -1; notes escapes. */
const skipString = (text: string, from: number, shape: JsonShape): number => {
  STRING_STOP.lastIndex = from;
  for (let stop = STRING_STOP.exec(text); stop; stop = STRING_STOP.exec(text)) {
    if (text.charCodeAt(stop.index) === QUOTE) return stop.index;
    if (text.charCodeAt(stop.index + 1) === 0x75 && isUnstorableEscape(text, stop.index + 2))
      shape.escapesUnstorable = true;
    STRING_STOP.lastIndex = stop.index + 2;
  }
  return -1;
};

/**
 * One pass over the text, without recursion: how deep arrays and objects nest (so a deep body is
 * refused before anything recursive, Nest's validation or the canonical JSON of an event, meets
 * it) and whether a string escapes a character that cannot be stored. Unbalanced or unterminated
 * text is left for JSON.parse to refuse.
 */
const scanJson = (text: string): JsonShape => {
  const shape: JsonShape = { tooDeep: false, escapesUnstorable: false };
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      index = skipString(text, index + 1, shape);
      if (index === -1) break;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return { ...shape, tooDeep: true };
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return shape;
};

const pointerToken = (key: string): string =>
  printable(key).replace(/~/g, '~0').replace(/\//g, '~1');

/** The first key or string value that cannot be stored, as a 400 naming its JSON pointer. */
const findUnstorableText = (root: unknown): HubError | null => {
  const pending: { value: unknown; pointer: string }[] = [{ value: root, pointer: '#' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, pointer } = next;
    if (typeof value === 'string') {
      const what = unstorableCharacter(value);
      if (what) return invalidText('body', pointer, what);
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--)
        pending.push({ value: value[index], pointer: `${pointer}/${index}` });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, member] = entries[index]!;
        const memberPointer = `${pointer}/${pointerToken(key)}`;
        const what = unstorableCharacter(key);
        if (what) return invalidText('body', memberPointer, `a property name with ${what}`);
        pending.push({ value: member, pointer: memberPointer });
      }
    }
  }
  return null;
};

const refuse = (code: ErrorCode, message: string): InvalidInputError =>
  new InvalidInputError(message, [{ field: '#', message }], code);

/**
 * A JSON request body, checked before any handler sees it: UTF-8, at most MAX_JSON_DEPTH deep,
 * free of `__proto__` and `constructor.prototype` keys (as Fastify's own parser refuses them),
 * and with every key and string storable.
 */
export const parseJsonBody = (bytes: Buffer): unknown => {
  const text = decodeUtf8Body(bytes);
  if (text.length === 0)
    throw refuse('EMPTY_JSON_BODY', 'The body is empty; send JSON or leave out the content type');
  const shape = scanJson(text);
  if (shape.tooDeep)
    throw refuse(
      'JSON_TOO_DEEP',
      `The JSON nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
    );
  let value: unknown;
  try {
    value = parseRefusingPoison(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    if (error instanceof SyntaxError && /forbidden prototype property/.test(error.message))
      throw refuse(
        'FORBIDDEN_JSON_KEY',
        'The JSON has a "__proto__" or "constructor.prototype" key, which the hub refuses',
      );
    throw refuse('MALFORMED_JSON', 'The body is not valid JSON');
  }
  const unstorable = shape.escapesUnstorable ? findUnstorableText(value) : null;
  if (unstorable) throw unstorable;
  return value;
};

import { HubError } from '../errors/hub-error';

/** Where in a request a text was found: named in the problem, so the client can find it. */
export type TextLocation = 'body' | 'path' | 'query';

// Node 20 has String.prototype.isWellFormed; the ES2023 lib this project compiles against does not
// declare it yet.
const isWellFormed = (text: string): boolean =>
  (text as string & { isWellFormed(): boolean }).isWellFormed();

const hex = (unit: number): string => unit.toString(16).toUpperCase().padStart(4, '0');

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/**
 * What in `text` cannot be stored, or null. PostgreSQL's text and jsonb hold neither NUL nor a
 * lone UTF-16 surrogate (which has no UTF-8 form): a string with either would be appended to the
 * log and then fail every read model that copies it.
 */
export const unstorableCharacter = (text: string): string | null => {
  if (isWellFormed(text) && !text.includes('\0')) return null;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit === 0) return 'NUL (U+0000)';
    if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(index + 1))) index++;
    else if (isHighSurrogate(unit) || isLowSurrogate(unit))
      return `a lone surrogate (U+${hex(unit)})`;
  }
  return null;
};

/** `text` with NUL and lone surrogates spelled as \uXXXX, so a problem can quote it safely. */
export const printable = (text: string): string =>
  isWellFormed(text) && !text.includes('\0')
    ? text
    : Array.from(text, (character) => {
        const unit = character.charCodeAt(0);
        return character.length === 1 &&
          (unit === 0 || isHighSurrogate(unit) || isLowSurrogate(unit))
          ? `\\u${hex(unit)}`
          : character;
      }).join('');

/** The 400 for text the hub cannot store; `field` is a JSON pointer (body) or a parameter name. */
export const invalidText = (location: TextLocation, field: string, what: string): HubError => {
  const message = `holds ${what}, which the hub cannot store: send valid Unicode text without NUL`;
  const where = location === 'body' ? `the body at ${field}` : `the ${location} parameter ${field}`;
  return new HubError('invalid_input', 'INVALID_TEXT', `Text in ${where} ${message}`, {
    in: location,
    issues: [{ field, message }],
  });
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body as text: UTF-8 (a leading BOM dropped), or a 400 when its bytes are not UTF-8. */
export const decodeUtf8Body = (bytes: Buffer): string => {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HubError('invalid_input', 'INVALID_TEXT', 'The body is not valid UTF-8', {
      in: 'body',
      issues: [{ field: '#', message: 'must be UTF-8 encoded' }],
    });
  }
};

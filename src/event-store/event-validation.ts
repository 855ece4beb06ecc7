import { InvalidInputError } from '../errors/hub-error';
import { EventToAppend, ExpectedRevision } from './event-store.port';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_STREAM_NAME_LENGTH = 512;
export const MAX_EVENT_TYPE_LENGTH = 256;

/** Checks a stream name the same way for every adapter. */
export const validateStreamName = (stream: string): void => {
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > MAX_STREAM_NAME_LENGTH)
    throw new InvalidInputError(
      `Stream name must be 1 to ${MAX_STREAM_NAME_LENGTH} characters`,
      [],
      'INVALID_STREAM_NAME',
    );
  if (stream.startsWith('$'))
    throw new InvalidInputError(
      'Stream names starting with "$" are reserved',
      [],
      'INVALID_STREAM_NAME',
    );
};

/** Checks an append request the same way for every adapter, before anything is written. */
export const validateAppend = (
  stream: string,
  events: readonly EventToAppend[],
  expected: ExpectedRevision,
): void => {
  validateStreamName(stream);
  if (typeof expected === 'bigint' && expected < 0n)
    throw new InvalidInputError(
      'Expected revision must not be negative',
      [],
      'INVALID_EXPECTED_REVISION',
    );
  if (events.length === 0)
    throw new InvalidInputError('An append needs at least one event', [], 'NO_EVENTS');
  const seen = new Set<string>();
  events.forEach((event, index) => {
    if (typeof event.id !== 'string' || !UUID.test(event.id))
      throw new InvalidInputError(`Event ${index} has no UUID id`, [], 'INVALID_EVENT_ID');
    const id = event.id.toLowerCase();
    if (seen.has(id))
      throw new InvalidInputError(
        `Event id ${event.id} appears twice in one append`,
        [],
        'DUPLICATE_EVENT_ID',
      );
    seen.add(id);
    if (
      typeof event.type !== 'string' ||
      event.type.length === 0 ||
      event.type.length > MAX_EVENT_TYPE_LENGTH
    )
      throw new InvalidInputError(
        `Event ${index} needs a type of 1 to ${MAX_EVENT_TYPE_LENGTH} characters`,
        [],
        'INVALID_EVENT_TYPE',
      );
    if (event.type.startsWith('$'))
      throw new InvalidInputError(
        'Event types starting with "$" are reserved',
        [],
        'INVALID_EVENT_TYPE',
      );
    if (event.data === undefined)
      throw new InvalidInputError(`Event ${index} has no data`, [], 'INVALID_EVENT_DATA');
  });
};

// A \u0000 escape preceded by an even number of backslashes (none included): an escaped
// backslash followed by "u0000" is text, not a NUL.
const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/** Whether JSON text (as JSON.stringify writes it) holds a NUL character in a string or key. */
export const jsonHasNul = (text: string): boolean => NUL_ESCAPE.test(text);

/** JSON text for a jsonb column; PostgreSQL refuses the NUL character in jsonb strings. */
export const toJsonText = (value: unknown, what: string): string => {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw new InvalidInputError(`${what} is not serialisable as JSON`, [], 'INVALID_EVENT_DATA');
  }
  if (text === undefined)
    throw new InvalidInputError(`${what} is not serialisable as JSON`, [], 'INVALID_EVENT_DATA');
  if (jsonHasNul(text))
    throw new InvalidInputError(
      `${what} contains a NUL character, which cannot be stored`,
      [],
      'INVALID_EVENT_DATA',
    );
  return text;
};

import { InvalidInputError } from '../errors/hub-error';

/** `If-Match: "3"` (or W/"3", or 3): the revision the client read. Absent or `*`: any. */
export const parseIfMatch = (header: string | undefined): bigint | undefined => {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,18})"?\s*$/.exec(header);
  if (!match?.[1])
    throw new InvalidInputError(
      'If-Match must be the ETag of the resource, e.g. "3"',
      [{ field: 'If-Match', message: 'must be a quoted revision number' }],
      'INVALID_IF_MATCH',
    );
  return BigInt(match[1]);
};

import { InvalidInputError } from '../errors/hub-error';
import { IDENTIFIER } from './request-context';

/**
 * Cursors of lists ordered by an identifier: opaque to clients, inside the last id of the page
 * (base64url). A cursor that does not decode to an identifier is 400 INVALID_CURSOR.
 */
export const encodeIdCursor = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');

export const decodeIdCursor = (cursor: string): string => {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!IDENTIFIER.test(id))
    throw new InvalidInputError(
      'The cursor is not valid',
      [{ field: 'cursor', message: 'use nextCursor of a previous page' }],
      'INVALID_CURSOR',
    );
  return id;
};

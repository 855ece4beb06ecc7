import { InvalidInputError } from '../errors/hub-error';
import { Position, START } from '../event-store/event-store.port';

// A position in the log, handed to clients as an opaque cursor (feeds, SSE event ids).
/** The cursor before the first event of the log. */
export const START_CURSOR = 'start';
const POSITION_SHAPE = /^\d{20}:\d{20}$/;

export const feedCursor = (position: Position): string =>
  Buffer.from(position, 'utf8').toString('base64url');

/** A cursor from a feed page or an SSE event id; 400 for anything the hub did not hand out. */
export const decodeFeedCursor = (cursor: string, field = 'after'): Position | typeof START => {
  if (cursor === START_CURSOR) return START;
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!POSITION_SHAPE.test(position) || feedCursor(position as Position) !== cursor)
    throw new InvalidInputError(
      'The cursor is not one the hub handed out',
      [{ field, message: `use a cursor from a feed page, an SSE event id, or ${START_CURSOR}` }],
      'INVALID_CURSOR',
    );
  return position as Position;
};

export const cursorOf = (position: Position | typeof START): string =>
  position === START ? START_CURSOR : feedCursor(position);

import { InvalidInputError } from '../../errors/hub-error';
import { Position } from '../event-store.port';

/**
 * A SQL-store position is the (transaction id, global position) pair the log is ordered by,
 * each zero-padded to 20 digits so that positions order as strings.
 */
export interface SqlLogKey {
  transactionId: string;
  globalPosition: string;
}

const DIGITS = 20;
const PATTERN = /^(\d{20}):(\d{20})$/;

export const LOG_START: SqlLogKey = { transactionId: '0', globalPosition: '0' };

export const encodeSqlPosition = (transactionId: string, globalPosition: string): Position =>
  `${transactionId.padStart(DIGITS, '0')}:${globalPosition.padStart(DIGITS, '0')}` as Position;

export const decodeSqlPosition = (position: string): SqlLogKey => {
  const match = PATTERN.exec(position);
  if (!match)
    throw new InvalidInputError(
      `"${position}" is not a position of this event store`,
      [],
      'INVALID_POSITION',
    );
  return {
    transactionId: BigInt(match[1]!).toString(),
    globalPosition: BigInt(match[2]!).toString(),
  };
};

import {
  END as ESDB_END,
  START as ESDB_START,
  type Position as EsdbPosition,
  type ReadPosition,
} from '@eventstore/db-client';
import { InvalidInputError } from '../../errors/hub-error';
import { END, START, type Position, type ReadFrom } from '../event-store.port';

export type { EsdbPosition };

/**
 * EventStoreDB log positions are two unsigned 64-bit integers. Twenty digits hold the largest
 * one, so zero-padding both to that width makes plain string order equal numeric order, which
 * the port requires of every adapter's positions.
 */
const DIGITS = 20;
const U64_MAX = (1n << 64n) - 1n;
const POSITION_PATTERN = /^(\d{1,20}):(\d{1,20})$/;

const pad = (value: bigint, name: string): string => {
  if (value < 0n || value > U64_MAX) {
    throw new RangeError(`EventStoreDB ${name} position ${value.toString()} is outside 0..2^64-1`);
  }
  return value.toString().padStart(DIGITS, '0');
};

export const isValidEsdbPosition = (position: EsdbPosition | undefined): position is EsdbPosition =>
  position !== undefined &&
  position.commit >= 0n &&
  position.prepare >= 0n &&
  position.commit <= U64_MAX &&
  position.prepare <= U64_MAX;

export const encodeEsdbPosition = (position: EsdbPosition): Position =>
  `${pad(position.commit, 'commit')}:${pad(position.prepare, 'prepare')}` as Position;

/** Throws InvalidInputError for anything this adapter could not have produced. */
export const decodeEsdbPosition = (position: string): EsdbPosition => {
  const match = POSITION_PATTERN.exec(position);
  if (match) {
    const commit = BigInt(match[1]!);
    const prepare = BigInt(match[2]!);
    if (commit <= U64_MAX && prepare <= U64_MAX) return { commit, prepare };
  }
  throw new InvalidInputError(
    'Not an EventStoreDB position',
    [{ field: 'position', message: 'expected "<commit>:<prepare>" as produced by this store' }],
    'INVALID_POSITION',
  );
};

/** Log order: commit first; prepare separates the events of one commit. */
export const compareEsdbPositions = (a: EsdbPosition, b: EsdbPosition): number => {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
};

export const toEsdbReadPosition = (from: ReadFrom | undefined): ReadPosition => {
  if (from === undefined || from === START) return ESDB_START;
  if (from === END) return ESDB_END;
  return decodeEsdbPosition(from);
};

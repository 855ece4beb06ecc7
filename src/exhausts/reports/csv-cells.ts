import { wallFieldsAt } from '../../time/calendar';

/**
 * What a report cell may contain and how values are written into one: formula neutralisation,
 * the reference's `BatchId_` prefix, dates in the hub's time zone and score percentages.
 * Pure: no I/O, no clock.
 */

/** One CSV row, as the writer takes it: every cell already text, blank for a missing value. */
export type CsvRow = readonly string[];

/**
 * First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula
 * (OWASP "CSV Injection"), plus the full-width forms Apple Numbers folds into them.
 *
 * A plain negative number such as `-1` is neutralised too (`'-1`): the reports hold no negative
 * numbers (progress, scores and durations are never below zero), so a leading `-` can only be
 * text, and `-1+cmd|' /C calc'!A0` is the classic payload that a number exemption would let by.
 */
const FORMULA_TRIGGERS: ReadonlySet<string> = new Set([
  '=',
  '+',
  '-',
  '@',
  '\t',
  '\r',
  '\uFF1D', // full-width '='
  '\uFF0B', // full-width '+'
  '\uFF0D', // full-width '-'
  '\uFF20', // full-width '@'
]);

/**
 * A cell a spreadsheet would run as a formula gets a leading `'`, which spreadsheets show as
 * text and do not display; any other cell is returned unchanged.
 */
export const neutraliseFormula = (cell: string): string =>
  cell.length > 0 && FORMULA_TRIGGERS.has(cell.charAt(0)) ? `'${cell}` : cell;

/**
 * Batch Id cells carry the reference's prefix: a bare numeric id such as
 * `0130934495109529600` is turned by spreadsheets into `1.3093449510953E+017` (seed 001).
 */
export const BATCH_ID_PREFIX = 'BatchId_';
export const batchIdCell = (batchId: string): string => `${BATCH_ID_PREFIX}${batchId}`;

/** A missing value is a blank cell, never "null" or "undefined". */
export const textCell = (value: string | null | undefined): string => value ?? '';

/**
 * Scores may be fractional and binary floating point adds noise (0.7 * 100 is
 * 70.00000000000001): without this, ceil would turn 70% into 71%.
 */
const withoutFloatNoise = (value: number): number => Math.round(value * 1e9) / 1e9;

/** A number as text without float noise (0.1 + 0.2 is written 0.3); blank when missing. */
export const numberCell = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? ''
    : String(withoutFloatNoise(value));

/**
 * The reference's score percentage: `ceil(score * 100 / max)` followed by `%`. Blank without a
 * positive maximum, since a percentage of nothing is not 0%.
 */
export const percentCell = (score: number, maxScore: number): string =>
  maxScore > 0 && Number.isFinite(score) && Number.isFinite(maxScore)
    ? `${Math.ceil(withoutFloatNoise((score * 100) / maxScore))}%`
    : '';

const toEpochMs = (instant: string | Date): number => {
  const epochMs = instant instanceof Date ? instant.getTime() : Date.parse(instant);
  // A bad instant is a bug upstream: failing the job beats writing a wrong date into a file.
  if (!Number.isFinite(epochMs)) throw new RangeError(`Not an instant: ${String(instant)}`);
  return epochMs;
};

interface WallClock {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

const two = (value: number): string => String(value).padStart(2, '0');

/** The wall clock a zone shows at an instant. Throws RangeError for a bad instant or zone. */
const wallClockIn = (instant: string | Date, timeZone: string): WallClock => {
  const { year, month, day, hour, minute, second } = wallFieldsAt(toEpochMs(instant), timeZone);
  return {
    year: String(year).padStart(4, '0'),
    month: two(month),
    day: two(day),
    hour: two(hour),
    minute: two(minute),
    second: two(second),
  };
};

/** `dd/MM/yyyy`, the reference's report date, as the day falls in `timeZone`; blank for null. */
export const dayCell = (instant: string | Date | null, timeZone: string): string => {
  if (instant === null) return '';
  const { day, month, year } = wallClockIn(instant, timeZone);
  return `${day}/${month}/${year}`;
};

/** `yyyy-MM-dd HH:mm:ss` in `timeZone` (the response exhaust's Attempted On); blank for null. */
export const dateTimeCell = (instant: string | Date | null, timeZone: string): string => {
  if (instant === null) return '';
  const { year, month, day, hour, minute, second } = wallClockIn(instant, timeZone);
  return `${year}-${month}-${day} ${hour}:${minute}:${second}`;
};

/** `yyyyMMdd` in `timeZone`, the date in exhaust file names. */
export const fileDate = (instant: string | Date, timeZone: string): string => {
  const { year, month, day } = wallClockIn(instant, timeZone);
  return `${year}${month}${day}`;
};

import { InvalidInputError } from '../errors/hub-error';
import {
  addDays,
  calendarDateIn,
  endOfDayIn,
  isCalendarDate,
  isIsoInstant,
  startOfDayIn,
} from '../time/calendar';
import { ResolvedBoundary } from './batch.decider';

const DAY_MS = 24 * 60 * 60 * 1_000;

const instant = (value: string, timeZone: string): ResolvedBoundary => {
  const at = new Date(value);
  return { given: value, at: at.toISOString(), day: calendarDateIn(at, timeZone) };
};

const parse = (
  value: string,
  field: string,
  timeZone: string,
  fromDate: (date: string, zone: string) => Date,
): ResolvedBoundary => {
  if (isCalendarDate(value)) {
    const at = fromDate(value, timeZone);
    return { given: value, at: at.toISOString(), day: value };
  }
  if (isIsoInstant(value)) return instant(value, timeZone);
  throw new InvalidInputError(
    `${field} must be a date (yyyy-MM-dd) or an ISO 8601 instant with an offset`,
    [{ field, message: 'must be yyyy-MM-dd or an ISO 8601 date-time with Z or an offset' }],
    'DATE_FORMAT_ERROR',
  );
};

/** A date-only start begins at 00:00 of that day in the hub's time zone. */
export const resolveStart = (value: string, timeZone: string, field = 'startDate') =>
  parse(value, field, timeZone, startOfDayIn);

/** A date-only end (or enrolment end) includes that whole day: it ends when the next begins. */
export const resolveEnd = (value: string, timeZone: string, field = 'endDate') =>
  parse(value, field, timeZone, endOfDayIn);

/**
 * Enrolment closes the day before the end date unless told otherwise (the reference's default).
 * A batch shorter than that keeps enrolment open until its end instead of before its start.
 */
export const defaultEnrollmentEnd = (
  start: ResolvedBoundary,
  end: ResolvedBoundary | null,
  timeZone: string,
): ResolvedBoundary | null => {
  if (end === null) return null;
  const candidate = isCalendarDate(end.given)
    ? resolveEnd(addDays(end.given, -1), timeZone)
    : instant(new Date(Date.parse(end.at) - DAY_MS).toISOString(), timeZone);
  return Date.parse(candidate.at) < Date.parse(start.at) ? end : candidate;
};

/**
 * Calendar dates (`yyyy-MM-dd`) and their boundaries in IANA time zones, computed with the
 * built-in Intl time-zone data only, so that day ranges are right across DST changes.
 */

const DAY_MS = 86_400_000;

/** Formatters are costly to build and are immutable, so one per zone is kept for reuse. */
const formatters = new Map<string, Intl.DateTimeFormat>();

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    // 'h23' rather than hour12: false, which some ICU versions render as hour 24 at midnight.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

export interface WallClockFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock fields, asked of ICU: exact, and the costly path (one formatToParts each). */
const wallFieldsFromIntl = (epochMs: number, timeZone: string): WallClockFields => {
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) fields[part.type] = part.value;
  const field = (name: string): number => Number(fields[name]);
  const yearOfEra = field('year');
  return {
    // Intl counts years before 1 AD as 1 BC, 2 BC, ...; ISO 8601 counts them as 0, -1, ...
    year: fields.era === 'BC' || fields.era === 'B' ? 1 - yearOfEra : yearOfEra,
    month: field('month'),
    day: field('day'),
    hour: field('hour'),
    minute: field('minute'),
    second: field('second'),
  };
};

/**
 * Zone offsets by 15-minute slot of UTC. A report formats 100,000 dates that mostly fall in a few
 * slots, and asking ICU for each is the largest cost of writing one. An offset is only reused
 * inside a slot that starts and ends on the same offset, so a change of offset (which no zone
 * makes twice within 15 minutes) is always asked of ICU.
 */
const SLOT_MS = 15 * 60_000;
const MAX_CACHED_SLOTS = 50_000;
const slotOffsets = new Map<string, Map<number, number | null>>();

/** The offset that holds through the instant's whole slot, or null when it changes inside it. */
const steadyOffset = (epochMs: number, timeZone: string): number | null => {
  const slot = Math.floor(epochMs / SLOT_MS);
  const cached = slotOffsets.get(timeZone)?.get(slot);
  if (cached !== undefined) return cached;
  // Asked of ICU before anything is cached, so an unknown zone throws and leaves nothing behind.
  const start = offsetAt(slot * SLOT_MS, timeZone);
  const offset = start === offsetAt((slot + 1) * SLOT_MS - 1000, timeZone) ? start : null;
  let zone = slotOffsets.get(timeZone);
  if (zone === undefined) slotOffsets.set(timeZone, (zone = new Map<number, number | null>()));
  if (zone.size >= MAX_CACHED_SLOTS) zone.clear();
  zone.set(slot, offset);
  return offset;
};

// Past about ±270,000 years an instant plus its offset leaves what a Date can hold.
const CACHE_RANGE_MS = 8.6e15;

/** The wall-clock fields the zone shows at an instant (proleptic Gregorian, astronomical years). */
export const wallFieldsAt = (epochMs: number, timeZone: string): WallClockFields => {
  const offset = Math.abs(epochMs) < CACHE_RANGE_MS ? steadyOffset(epochMs, timeZone) : null;
  if (offset === null) return wallFieldsFromIntl(epochMs, timeZone);
  const wall = new Date(epochMs + offset);
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
  };
};

/** Days from 1970-01-01 to a proleptic Gregorian date. */
const daysSinceEpoch = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
};

/**
 * Epoch milliseconds of a UTC wall-clock time, by arithmetic: ingest computes two instants per
 * event, and building Date objects for them was a measurable part of publishing. (Date.UTC would
 * also treat years 0–99 as 1900–1999.)
 */
const utcMs = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0) =>
  daysSinceEpoch(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000;

/**
 * The zone's offset from UTC at an instant, in milliseconds (east positive). Intl shows whole
 * seconds only, so the instant is floored to its second before comparing.
 */
const offsetAt = (epochMs: number, timeZone: string): number => {
  const f = wallFieldsFromIntl(epochMs, timeZone);
  const wall = utcMs(f.year, f.month, f.day, f.hour, f.minute, f.second);
  return wall - Math.floor(epochMs / 1000) * 1000;
};

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

const formatDate = (year: number, month: number, day: number): string =>
  `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;

const parseDate = (date: string): { year: number; month: number; day: number } => {
  if (!isCalendarDate(date)) throw new RangeError(`Not a calendar date (yyyy-MM-dd): ${date}`);
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return { year, month, day };
};

/**
 * Whether the runtime knows the zone, so callers can reject it up front rather than fail later.
 * Intl matches names case-insensitively and accepts links such as 'US/Eastern'.
 */
export const isValidTimeZone = (timeZone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
};

/** The shape of a calendar date; use isCalendarDate to also know that the day exists. */
export const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;

const isLeapYear = (year: number): boolean =>
  (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? isLeapYear(year)
      ? 29
      : 28
    : month === 4 || month === 6 || month === 9 || month === 11
      ? 30
      : 31;

const dayExists = (year: number, month: number, day: number): boolean =>
  month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);

/** A `yyyy-MM-dd` naming a day that exists in the proleptic Gregorian calendar (no 2026-02-30). */
export const isCalendarDate = (value: string): boolean =>
  CALENDAR_DATE.test(value) &&
  dayExists(Number(value.slice(0, 4)), Number(value.slice(5, 7)), Number(value.slice(8, 10)));

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant an ISO 8601 date-time names, in epoch milliseconds (finer digits truncated), or
 * null when it names none. The offset (or Z) is required because a bare local time is
 * ambiguous. Date.parse is too lenient (it rolls 2026-02-30 over and accepts hour 24), so the
 * components are checked and the instant computed from them.
 */
export const parseIsoInstant = (value: string): number | null => {
  const match = ISO_INSTANT.exec(value);
  if (match === null) return null;
  const [, y, mo, d, h, mi, s = '0', fraction = '', sign, oh = '0', om = '0'] = match;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  const [offsetHours, offsetMinutes] = [Number(oh), Number(om)];
  if (!dayExists(year, month, day)) return null;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return null;
  }
  const offsetMs = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  return utcMs(year, month, day, hour, minute, second) + millis - offsetMs;
};

export const isIsoInstant = (value: string): boolean => parseIsoInstant(value) !== null;

/**
 * The first instant of a calendar day in a zone, so that day ranges are exact where a DST change
 * moves or skips midnight. When midnight happens twice, the earlier one; when the day starts
 * inside a DST gap (e.g. America/Santiago jumping from 00:00 to 01:00), the instant of the jump.
 * Throws RangeError for an impossible date or an unknown zone.
 */
export const startOfDayIn = (date: string, timeZone: string): Date => {
  const { year, month, day } = parseDate(date);
  const wall = utcMs(year, month, day);
  // Offsets are within ±24 h, so every instant showing this midnight lies between these two.
  const offsets = new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall + DAY_MS, timeZone)]);
  // The guess `wall - offset` holds only if the zone really has that offset at that instant.
  const exact = [...offsets]
    .map((offset) => wall - offset)
    .filter((instant) => offsetAt(instant, timeZone) === wall - instant)
    .sort((a, b) => a - b);
  if (exact[0] !== undefined) return new Date(exact[0]);

  // Midnight does not exist: the day starts at the transition, the first instant whose wall
  // clock is past midnight. Wall time rises monotonically across a single gap, so bisect.
  const candidates = [...offsets].map((offset) => wall - offset);
  let low = Math.min(...candidates); // wall clock still before midnight
  let high = Math.max(...candidates); // wall clock already past midnight
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (middle + offsetAt(middle, timeZone) >= wall) high = middle;
    else low = middle;
  }
  return new Date(high);
};

/** The calendar day an instant falls on in a zone. Throws RangeError for an invalid Date or zone. */
export const calendarDateIn = (instant: Date, timeZone: string): string => {
  const epochMs = instant.getTime();
  if (!Number.isFinite(epochMs)) throw new RangeError('Invalid Date');
  const { year, month, day } = wallFieldsAt(epochMs, timeZone);
  return formatDate(year, month, day);
};

/**
 * Calendar arithmetic on `yyyy-MM-dd`, independent of any zone, so adding a day never lands on
 * the same date or skips one across DST. Throws RangeError for an impossible date, a non-integer
 * count, or a result outside years 0000–9999.
 */
export const addDays = (date: string, days: number): string => {
  const { year, month, day } = parseDate(date);
  if (!Number.isSafeInteger(days)) throw new RangeError(`Not a whole number of days: ${days}`);
  const result = new Date(utcMs(year, month, day) + days * DAY_MS);
  const resultYear = result.getUTCFullYear();
  if (!(resultYear >= 0 && resultYear <= 9999)) {
    throw new RangeError(`${date} plus ${days} days is outside years 0000–9999`);
  }
  return formatDate(resultYear, result.getUTCMonth() + 1, result.getUTCDate());
};

/**
 * The exclusive end of a calendar day in a zone, i.e. the start of the next day, so the day is
 * the half-open range [startOfDayIn, endOfDayIn) whatever its length (23, 24 or 25 hours).
 */
export const endOfDayIn = (date: string, timeZone: string): Date =>
  startOfDayIn(addDays(date, 1), timeZone);

import fc from 'fast-check';
import {
  CALENDAR_DATE,
  addDays,
  calendarDateIn,
  endOfDayIn,
  isCalendarDate,
  isIsoInstant,
  isValidTimeZone,
  parseIsoInstant,
  startOfDayIn,
  wallFieldsAt,
} from '../../src/time/calendar';

// Expected instants come from the published tz rules (offsets and transition times), not from
// the implementation; the comments give the wall clock and offset each one stands for.
const iso = (date: Date): string => date.toISOString();
const HOUR_MS = 3_600_000;

describe('isValidTimeZone', () => {
  it.each(['UTC', 'Asia/Kolkata', 'Europe/Berlin', 'America/New_York', 'Etc/GMT+5', 'US/Eastern'])(
    'accepts %s',
    (zone) => {
      expect(isValidTimeZone(zone)).toBe(true);
    },
  );

  it.each(['', 'garbage', 'Mars/Olympus', 'Europe/Berlin ', 'Asia/Kolkata/x', 'UTC+25'])(
    'rejects %j',
    (zone) => {
      expect(isValidTimeZone(zone)).toBe(false);
    },
  );
});

describe('isCalendarDate', () => {
  it.each(['2026-12-01', '2026-01-31', '2026-12-31', '2028-02-29', '2000-02-29', '0001-01-01'])(
    'accepts %s',
    (value) => {
      expect(CALENDAR_DATE.test(value)).toBe(true);
      expect(isCalendarDate(value)).toBe(true);
    },
  );

  it.each([
    '2026-02-29', // 2026 is not a leap year
    '1900-02-29', // divisible by 100 but not by 400
    '2026-02-30',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-12-00',
    '2026-12-32',
  ])('rejects the impossible date %s', (value) => {
    expect(CALENDAR_DATE.test(value)).toBe(true);
    expect(isCalendarDate(value)).toBe(false);
  });

  it.each([
    '',
    '2026-1-01',
    '2026-12-1',
    '26-12-01',
    '2026/12/01',
    ' 2026-12-01',
    '2026-12-01T00:00Z',
  ])('rejects the malformed %j', (value) => {
    expect(isCalendarDate(value)).toBe(false);
  });
});

describe('isIsoInstant', () => {
  it.each([
    '2026-12-01T10:00:00Z',
    '2026-12-01T10:00:00.123+05:30',
    '2026-12-01T10:00Z',
    '2026-12-01T23:59:59.999999-08:00',
    '2026-12-01T00:00:00+00:00',
    '2028-02-29T12:00:00-03:30',
    '2026-12-01T10:00:00.5+14:00',
  ])('accepts %s', (value) => {
    expect(isIsoInstant(value)).toBe(true);
  });

  it.each([
    ['no offset', '2026-12-01T10:00:00'],
    ['no offset, with fraction', '2026-12-01T10:00:00.123'],
    ['a date only', '2026-12-01'],
    ['a space for T', '2026-12-01 10:00:00Z'],
    ['lower-case t and z', '2026-12-01t10:00:00z'],
    ['hour 25', '2026-12-01T25:00:00Z'],
    ['hour 24', '2026-12-01T24:00:00Z'],
    ['minute 60', '2026-12-01T10:60:00Z'],
    ['second 60', '2026-12-01T10:00:60Z'],
    ['February 30', '2026-02-30T10:00:00Z'],
    ['February 29 of a common year', '2026-02-29T10:00:00Z'],
    ['month 13', '2026-13-01T10:00:00Z'],
    ['an offset without colon', '2026-12-01T10:00:00+0530'],
    ['offset hour 24', '2026-12-01T10:00:00+24:00'],
    ['offset minute 60', '2026-12-01T10:00:00+05:60'],
    ['an empty fraction', '2026-12-01T10:00:00.Z'],
    ['a fraction without seconds', '2026-12-01T10:00.5Z'],
    ['an empty string', ''],
    ['garbage', 'yesterday'],
  ])('rejects %s', (_reason, value) => {
    expect(isIsoInstant(value)).toBe(false);
  });
});

describe('parseIsoInstant', () => {
  it('computes the instant Date.parse gives for every valid form', () => {
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    // A deterministic spread over years 100-9999, every month end, offsets either side.
    for (let i = 0; i < 3_000; i++) {
      const year = 100 + ((i * 7_919) % 9_900);
      const month = 1 + (i % 12);
      const day = 1 + ((i * 13) % 28) + (i % 5 === 0 ? 3 - (i % 3) : 0);
      const date = `${pad(year, 4)}-${pad(month)}-${pad(Math.min(day, 28 + (i % 4)))}`;
      if (!isCalendarDate(date)) continue;
      const time = `${pad(i % 24)}:${pad((i * 7) % 60)}`;
      const seconds = i % 3 === 0 ? '' : `:${pad((i * 11) % 60)}`;
      const fraction = seconds && i % 2 === 0 ? `.${String(i).padEnd(1 + (i % 9), '7')}` : '';
      const zone = i % 4 === 0 ? 'Z' : `${i % 2 ? '+' : '-'}${pad(i % 15)}:${pad((i * 15) % 60)}`;
      const value = `${date}T${time}${seconds}${fraction}${zone}`;
      expect([value, parseIsoInstant(value)]).toEqual([value, Date.parse(value)]);
    }
  });

  it('counts leap days the Gregorian way', () => {
    expect(parseIsoInstant('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoInstant('2000-02-29T12:00:00Z')).toBe(Date.UTC(2000, 1, 29, 12));
    expect(parseIsoInstant('1900-02-29T00:00:00Z')).toBeNull();
    expect(parseIsoInstant('2026-12-01T09:30:00.123456789+05:30')).toBe(
      Date.UTC(2026, 11, 1, 4, 0, 0, 123),
    );
  });
});

describe('startOfDayIn', () => {
  it('is midnight UTC in UTC', () => {
    expect(iso(startOfDayIn('2026-12-01', 'UTC'))).toBe('2026-12-01T00:00:00.000Z');
  });

  it('applies a half-hour offset (Asia/Kolkata, +05:30)', () => {
    expect(iso(startOfDayIn('2026-12-01', 'Asia/Kolkata'))).toBe('2026-11-30T18:30:00.000Z');
  });

  it('uses the offset in force on that day in America/New_York', () => {
    expect(iso(startOfDayIn('2026-01-15', 'America/New_York'))).toBe('2026-01-15T05:00:00.000Z'); // EST
    expect(iso(startOfDayIn('2026-06-15', 'America/New_York'))).toBe('2026-06-15T04:00:00.000Z'); // EDT
  });

  it('uses the offset in force at midnight on DST days in America/New_York', () => {
    // Clocks change at 02:00 local, so midnight still has the previous offset.
    expect(iso(startOfDayIn('2026-03-08', 'America/New_York'))).toBe('2026-03-08T05:00:00.000Z'); // -05:00
    expect(iso(startOfDayIn('2026-11-01', 'America/New_York'))).toBe('2026-11-01T04:00:00.000Z'); // -04:00
  });

  it('uses the offset in force at midnight on DST days in Europe/Berlin', () => {
    expect(iso(startOfDayIn('2026-03-29', 'Europe/Berlin'))).toBe('2026-03-28T23:00:00.000Z'); // +01:00
    expect(iso(startOfDayIn('2026-10-25', 'Europe/Berlin'))).toBe('2026-10-24T22:00:00.000Z'); // +02:00
  });

  it('starts at the jump when midnight is skipped', () => {
    // 2019-09-08 America/Santiago: 00:00 -04:00 became 01:00 -03:00 at 04:00Z.
    expect(iso(startOfDayIn('2019-09-08', 'America/Santiago'))).toBe('2019-09-08T04:00:00.000Z');
    // 2022-03-27 Asia/Beirut: 00:00 +02:00 became 01:00 +03:00 at 22:00Z the day before.
    expect(iso(startOfDayIn('2022-03-27', 'Asia/Beirut'))).toBe('2022-03-26T22:00:00.000Z');
  });

  it('starts at the later midnight when clocks fall back from midnight to the day before', () => {
    // 2022-10-30 Asia/Beirut: at 00:00 +03:00 (21:00Z) clocks went back to 23:00 +02:00, so the
    // 30th began at 00:00 +02:00.
    expect(iso(startOfDayIn('2022-10-30', 'Asia/Beirut'))).toBe('2022-10-29T22:00:00.000Z');
  });

  it('starts at the first midnight when midnight happens twice', () => {
    // 2022-11-06 America/Havana: at 01:00 -04:00 clocks went back to 00:00 -05:00.
    expect(iso(startOfDayIn('2022-11-06', 'America/Havana'))).toBe('2022-11-06T04:00:00.000Z');
  });

  it('gives a skipped day no length (Pacific/Apia, 2011-12-30)', () => {
    // 2011-12-29 24:00 -10:00 was followed by 2011-12-31 00:00 +14:00, at 10:00Z.
    expect(iso(startOfDayIn('2011-12-30', 'Pacific/Apia'))).toBe('2011-12-30T10:00:00.000Z');
    expect(iso(endOfDayIn('2011-12-30', 'Pacific/Apia'))).toBe('2011-12-30T10:00:00.000Z');
    expect(iso(startOfDayIn('2011-12-31', 'Pacific/Apia'))).toBe('2011-12-30T10:00:00.000Z');
    expect(iso(startOfDayIn('2011-12-29', 'Pacific/Apia'))).toBe('2011-12-29T10:00:00.000Z');
  });

  it('handles years before 100 without the Date.UTC two-digit-year quirk', () => {
    expect(iso(startOfDayIn('0050-06-15', 'UTC'))).toBe('0050-06-15T00:00:00.000Z');
  });

  it('rejects an impossible date or an unknown zone', () => {
    expect(() => startOfDayIn('2026-02-30', 'UTC')).toThrow(RangeError);
    expect(() => startOfDayIn('2026-12-01', 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('endOfDayIn', () => {
  it('is the start of the next day', () => {
    expect(iso(endOfDayIn('2026-12-01', 'UTC'))).toBe('2026-12-02T00:00:00.000Z');
    expect(iso(endOfDayIn('2026-11-30', 'Asia/Kolkata'))).toBe('2026-11-30T18:30:00.000Z');
    expect(iso(endOfDayIn('2026-12-31', 'UTC'))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('makes DST days 23 or 25 hours long', () => {
    const hours = (date: string, zone: string): number =>
      (endOfDayIn(date, zone).getTime() - startOfDayIn(date, zone).getTime()) / HOUR_MS;
    expect(iso(endOfDayIn('2026-03-08', 'America/New_York'))).toBe('2026-03-09T04:00:00.000Z');
    expect(hours('2026-03-08', 'America/New_York')).toBe(23);
    expect(iso(endOfDayIn('2026-11-01', 'America/New_York'))).toBe('2026-11-02T05:00:00.000Z');
    expect(hours('2026-11-01', 'America/New_York')).toBe(25);
    expect(iso(endOfDayIn('2026-03-29', 'Europe/Berlin'))).toBe('2026-03-29T22:00:00.000Z');
    expect(hours('2026-03-29', 'Europe/Berlin')).toBe(23);
    expect(iso(endOfDayIn('2026-10-25', 'Europe/Berlin'))).toBe('2026-10-25T23:00:00.000Z');
    expect(hours('2026-10-25', 'Europe/Berlin')).toBe(25);
    expect(hours('2022-10-29', 'Asia/Beirut')).toBe(25);
    expect(hours('2022-03-27', 'Asia/Beirut')).toBe(23);
    expect(hours('2026-12-01', 'Asia/Kolkata')).toBe(24);
  });
});

describe('calendarDateIn', () => {
  it('gives the date in the zone, not in UTC', () => {
    const instant = new Date('2026-11-30T18:30:00Z');
    expect(calendarDateIn(instant, 'Asia/Kolkata')).toBe('2026-12-01');
    expect(calendarDateIn(instant, 'UTC')).toBe('2026-11-30');
    expect(calendarDateIn(instant, 'America/New_York')).toBe('2026-11-30');
    expect(calendarDateIn(new Date('2026-11-30T18:29:59.999Z'), 'Asia/Kolkata')).toBe('2026-11-30');
  });

  it('changes date exactly at the start of the day around DST changes', () => {
    expect(calendarDateIn(new Date('2026-03-08T04:59:59.999Z'), 'America/New_York')).toBe(
      '2026-03-07',
    );
    expect(calendarDateIn(new Date('2026-03-08T05:00:00.000Z'), 'America/New_York')).toBe(
      '2026-03-08',
    );
    // The hour repeated before Beirut's midnight on 2022-10-30 still belongs to the 29th.
    expect(calendarDateIn(new Date('2022-10-29T21:30:00Z'), 'Asia/Beirut')).toBe('2022-10-29');
    // The repeated midnight hour in Havana belongs to the 6th both times.
    expect(calendarDateIn(new Date('2022-11-06T05:30:00Z'), 'America/Havana')).toBe('2022-11-06');
  });

  it('pads years to four digits', () => {
    expect(calendarDateIn(new Date('0099-05-01T12:00:00Z'), 'UTC')).toBe('0099-05-01');
  });

  it('rejects an invalid Date or an unknown zone', () => {
    expect(() => calendarDateIn(new Date(NaN), 'UTC')).toThrow(RangeError);
    expect(() => calendarDateIn(new Date(), 'Mars/Olympus')).toThrow(RangeError);
  });

  it('agrees with startOfDayIn for every day of 2026 in zones with DST', () => {
    for (const zone of ['America/New_York', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Kolkata']) {
      for (let date = '2026-01-01'; date !== '2027-01-01'; date = addDays(date, 1)) {
        const start = startOfDayIn(date, zone);
        expect(calendarDateIn(start, zone)).toBe(date);
        expect(calendarDateIn(new Date(start.getTime() - 1), zone)).toBe(addDays(date, -1));
      }
    }
  });
});

describe('addDays', () => {
  it.each([
    ['2026-12-01', 0, '2026-12-01'],
    ['2026-12-01', 1, '2026-12-02'],
    ['2026-01-31', 1, '2026-02-01'],
    ['2026-03-01', -1, '2026-02-28'],
    ['2028-03-01', -1, '2028-02-29'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2028-02-29', 1, '2028-03-01'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2027-01-01', -1, '2026-12-31'],
    ['2026-01-01', 365, '2027-01-01'],
    ['2028-01-01', 366, '2029-01-01'],
    ['2026-03-08', 1, '2026-03-09'], // a DST day in many zones, irrelevant here
    ['2026-12-01', -400, '2025-10-27'],
  ])('%s plus %i days is %s', (date, days, expected) => {
    expect(addDays(date, days)).toBe(expected);
  });

  it('rejects an impossible date, a fractional count, or a result outside 0000–9999', () => {
    expect(() => addDays('2026-02-29', 1)).toThrow(RangeError);
    expect(() => addDays('2026-12-01', 1.5)).toThrow(RangeError);
    expect(() => addDays('9999-12-31', 1)).toThrow(RangeError);
  });
});

describe('wallFieldsAt', () => {
  // What ICU says, field by field: the reference the cached offsets must agree with.
  const fromIntl = (epochMs: number, timeZone: string) => {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    }).formatToParts(epochMs);
    const field = (type: string) => Number(parts.find((part) => part.type === type)?.value);
    const era = parts.find((part) => part.type === 'era')?.value;
    return {
      year: era === 'BC' || era === 'B' ? 1 - field('year') : field('year'),
      month: field('month'),
      day: field('day'),
      hour: field('hour'),
      minute: field('minute'),
      second: field('second'),
    };
  };
  const zones = [
    'UTC',
    'Asia/Kolkata',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe', // moves by 30 minutes
    'Asia/Kathmandu', // +05:45
    'Pacific/Apia', // skipped a whole day in 2011
    'America/Sao_Paulo',
  ];

  it('agrees with ICU at any instant, in zones with odd offsets and changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(-100, 0, 1), max: Date.UTC(2200, 0, 1) }),
        fc.constantFrom(...zones),
        (epochMs, zone) => {
          expect(wallFieldsAt(epochMs, zone)).toEqual(fromIntl(epochMs, zone));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('agrees with ICU second by second around a change of offset', () => {
    // Europe/Berlin leaves summer time at 2026-10-25T01:00:00Z; Lord Howe's half hour at 15:00Z.
    // Berlin left its local mean time (+00:53:28) at 1893-03-31T23:06:32Z, inside a 15-minute
    // slot rather than at its start, so that slot mixes two offsets.
    for (const [zone, change] of [
      ['Europe/Berlin', Date.UTC(2026, 9, 25, 1)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15)],
      ['Europe/Berlin', Date.UTC(1893, 2, 31, 23, 6, 32)],
    ] as const) {
      for (let at = change - 20 * 60_000; at <= change + 20 * 60_000; at += 997) {
        expect(wallFieldsAt(at, zone)).toEqual(fromIntl(at, zone));
      }
    }
  });

  it('rejects an unknown zone', () => {
    expect(() => wallFieldsAt(0, 'Mars/Olympus')).toThrow(RangeError);
  });
});

import {
  batchIdCell,
  dateTimeCell,
  dayCell,
  fileDate,
  neutraliseFormula,
  numberCell,
  percentCell,
  textCell,
} from '../../../src/exhausts/reports/csv-cells';

describe('report cells', () => {
  describe('formula neutralisation', () => {
    it.each([
      ['=SUM(A1:A9)', "'=SUM(A1:A9)"],
      ['+1', "'+1"],
      ['-1', "'-1"],
      ['@x', "'@x"],
      ['\tx', "'\tx"],
      ['\rx', "'\rx"],
      ['=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'],
      ["-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"],
      ['\uFF1D1+1', "'\uFF1D1+1"],
    ])('puts a quote before %j', (cell, expected) => {
      expect(neutraliseFormula(cell)).toBe(expected);
    });

    it.each(['', 'Mysuru', '32%', 'BatchId_-1', 'a=b', ' =1', '0', '100', "'=already"])(
      'leaves %j alone',
      (cell) => {
        expect(neutraliseFormula(cell)).toBe(cell);
      },
    );
  });

  it('prefixes batch ids so spreadsheets keep them as text', () => {
    expect(batchIdCell('0130934495109529600')).toBe('BatchId_0130934495109529600');
  });

  it('writes missing values as blank cells', () => {
    expect(textCell(null)).toBe('');
    expect(textCell(undefined)).toBe('');
    expect(numberCell(null)).toBe('');
    expect(numberCell(undefined)).toBe('');
    expect(numberCell(Number.NaN)).toBe('');
  });

  it('writes numbers without float noise', () => {
    expect(numberCell(0.1 + 0.2)).toBe('0.3');
    expect(numberCell(0.33)).toBe('0.33');
    expect(numberCell(57)).toBe('57');
  });

  describe('percentages: ceil(score * 100 / max)%', () => {
    it.each([
      [3, 5, '60%'],
      [1, 1, '100%'],
      [1, 10, '10%'],
      [0, 10, '0%'],
      // 3/5, 1/1, 1/10 summed: 5 * 100 / 16 = 31.25, rounded up.
      [5, 16, '32%'],
      // DIKSHA's help page: 5/10 + 2/5 = 7/15 = 46.67 → 47%.
      [7, 15, '47%'],
      // 0.7 * 100 is 70.00000000000001 in binary floating point: still 70%.
      [0.7, 1, '70%'],
      [1, 3, '34%'],
    ])('%d of %d is %s', (score, max, expected) => {
      expect(percentCell(score, max)).toBe(expected);
    });

    it('is blank without a positive maximum', () => {
      expect(percentCell(0, 0)).toBe('');
      expect(percentCell(1, -1)).toBe('');
    });
  });

  describe('dates in the hub time zone', () => {
    it('writes dd/MM/yyyy as the day falls in the zone, across midnight', () => {
      // 18:30 UTC is midnight in India (+05:30): the same instant is two days apart.
      expect(dayCell('2020-08-25T18:29:59.999Z', 'Asia/Kolkata')).toBe('25/08/2020');
      expect(dayCell('2020-08-25T18:30:00.000Z', 'Asia/Kolkata')).toBe('26/08/2020');
      expect(dayCell('2020-08-25T18:30:00.000Z', 'UTC')).toBe('25/08/2020');
      // West of UTC the day is still the previous one (PDT, -07:00).
      expect(dayCell('2020-08-25T03:30:00.000Z', 'America/Los_Angeles')).toBe('24/08/2020');
      expect(dayCell(new Date('2020-12-31T23:59:59.000Z'), 'Europe/Berlin')).toBe('01/01/2021');
    });

    it('is blank without a date', () => {
      expect(dayCell(null, 'Asia/Kolkata')).toBe('');
      expect(dateTimeCell(null, 'Asia/Kolkata')).toBe('');
    });

    it('writes yyyy-MM-dd HH:mm:ss with midnight as 00, not 24', () => {
      expect(dateTimeCell('2020-08-25T18:30:00.000Z', 'Asia/Kolkata')).toBe('2020-08-26 00:00:00');
      expect(dateTimeCell('2020-08-25T13:45:54.150Z', 'Asia/Kolkata')).toBe('2020-08-25 19:15:54');
      expect(dateTimeCell('2020-08-25T13:45:54.150Z', 'UTC')).toBe('2020-08-25 13:45:54');
    });

    it('writes yyyyMMdd for file names', () => {
      expect(fileDate('2022-09-27T07:26:12.845Z', 'Asia/Kolkata')).toBe('20220927');
      expect(fileDate('2022-09-26T19:00:00.000Z', 'Asia/Kolkata')).toBe('20220927');
      expect(fileDate('2022-09-26T19:00:00.000Z', 'UTC')).toBe('20220926');
    });

    it('refuses an instant or zone that is not one', () => {
      expect(() => dayCell('yesterday', 'UTC')).toThrow(RangeError);
      expect(() => dayCell('2020-08-25T00:00:00Z', 'Mars/Olympus')).toThrow(RangeError);
    });
  });
});

import {
  EXHAUST_TYPES,
  ExhaustType,
  exhaustFileKey,
  exhaustFileName,
  isExhaustType,
} from '../../../src/exhausts/reports/exhaust-types';

describe('exhaust types', () => {
  it('are the four reports, by the reference’s job ids', () => {
    expect(EXHAUST_TYPES).toEqual([
      'progress-exhaust',
      'course-progress-report',
      'userinfo-exhaust',
      'response-exhaust',
    ]);
    expect(isExhaustType('progress-exhaust')).toBe(true);
    expect(isExhaustType('program-user-exhaust')).toBe(false);
  });

  it.each<[ExhaustType, string]>([
    ['progress-exhaust', 'progress'],
    ['course-progress-report', 'course_progress'],
    ['userinfo-exhaust', 'userinfo'],
    ['response-exhaust', 'response'],
  ])('%s files are keyed %s', (type, key) => {
    expect(exhaustFileKey(type)).toBe(key);
  });

  it('names files as the reference does, dated in the hub’s zone', () => {
    // The reference's sample: submitted 2022-09-27 07:26 UTC.
    expect(
      exhaustFileName(
        'progress-exhaust',
        '013307481768378368112',
        '2022-09-27T07:26:12.845Z',
        'Asia/Kolkata',
      ),
    ).toBe('013307481768378368112_progress_20220927.zip');
    // 19:00 UTC on the 26th is already the 27th in India, still the 26th in UTC.
    const lateEvening = new Date('2022-09-26T19:00:00.000Z');
    expect(exhaustFileName('userinfo-exhaust', 'b-1', lateEvening, 'Asia/Kolkata')).toBe(
      'b-1_userinfo_20220927.zip',
    );
    expect(exhaustFileName('response-exhaust', 'b-1', lateEvening, 'UTC', 'csv')).toBe(
      'b-1_response_20220926.csv',
    );
  });

  it.each(['', '.', '..', 'a/b', 'a\\b', 'a\0b'])(
    'refuses batch id %j in a file name',
    (batchId) => {
      expect(() => exhaustFileName('progress-exhaust', batchId, new Date(), 'UTC')).toThrow(
        RangeError,
      );
    },
  );
});

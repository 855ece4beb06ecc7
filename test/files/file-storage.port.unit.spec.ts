import { checkFileKey } from '../../src/files/file-storage.port';

describe('checkFileKey', () => {
  it.each([
    'progress-exhaust/01JQ7Z5R7J2M3N4P5Q6R7S8T9V/0130_progress_20260301.zip',
    'userinfo-exhaust/r1/b.1_userinfo_20260301.zip',
    'report.zip',
  ])('accepts %j', (key) => {
    expect(checkFileKey(key)).toBe(key);
  });

  it.each([
    ['empty', ''],
    ['a parent segment', 'progress-exhaust/../secrets.zip'],
    ['a parent segment at the start', '../r1/b1.zip'],
    ['a current-folder segment', 'progress-exhaust/./b1.zip'],
    ['an absolute path', '/var/exhaust/b1.zip'],
    ['a Windows path', 'C:\\exhaust\\b1.zip'],
    ['a backslash', 'progress-exhaust\\..\\b1.zip'],
    ['a NUL', 'progress-exhaust/b1.zip\0.txt'],
    ['an empty segment', 'progress-exhaust//b1.zip'],
    ['a trailing slash', 'progress-exhaust/r1/'],
    ['a hidden name', 'progress-exhaust/.b1.zip.tmp'],
    ['a space', 'progress exhaust/b1.zip'],
    ['a non-ASCII letter', 'progress-exhaust/bä.zip'],
    ['a very long key', `r/${'a'.repeat(600)}.zip`],
  ])('refuses %s with INVALID_FILE_KEY', (_what, key) => {
    expect(() => checkFileKey(key)).toThrow(
      expect.objectContaining({ kind: 'invalid_input', code: 'INVALID_FILE_KEY' }),
    );
  });

  it('shows a NUL escaped in the message', () => {
    expect(() => checkFileKey('a\0b')).toThrow(
      expect.objectContaining({
        details: { issues: [{ field: 'key', message: '"a\\u0000b" is not a valid file key' }] },
      }),
    );
  });
});

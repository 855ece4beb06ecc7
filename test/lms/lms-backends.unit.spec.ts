import {
  LmsBackendSettings,
  parseLmsBackends,
  toJsRegexSource,
} from '../../src/config/lms-backends';
import {
  createLmsBackend,
  matchFromStart,
  publicView,
  selectLms,
} from '../../src/lms/lms-selection';
import { MoodleBackend } from '../../src/lms/moodle-backend';
import { OpenEdxBackend } from '../../src/lms/openedx-backend';

const TOKEN = 'edx-secret-token-0123456789abcdef';
const openEdx = {
  BACKEND: 'openedx',
  BASE_URL: 'http://openedx.test',
  SELECTOR_REGEX: '^.*/courses/(?P<course_id>.*)/course/?$',
  COURSE_REGEX: '^.*/courses/(?P<course_id>.*)/course/?$',
  API_TOKEN: TOKEN,
};
const moodle = {
  BACKEND: 'moodle',
  BASE_URL: 'https://moodle.test/webservice/rest/server.php',
  SELECTOR_REGEX: '^https://moodle\\.test/',
  COURSE_REGEX: '^.*[?&]id=(?P<course_id>\\d+)',
  API_TOKEN: 'moodle-secret-token-fedcba9876543210',
  STUDENT_ROLE_ID: 5,
};

const parse = (items: unknown) => parseLmsBackends(JSON.stringify(items));
const parsed = (items: unknown): LmsBackendSettings[] => {
  const { backends, problems } = parse(items);
  expect(problems).toEqual([]);
  return backends;
};

describe('LMS_BACKENDS', () => {
  it('is empty when unset or blank', () => {
    expect(parseLmsBackends(undefined)).toEqual({ backends: [], problems: [] });
    expect(parseLmsBackends('  ')).toEqual({ backends: [], problems: [] });
    expect(parseLmsBackends('[]')).toEqual({ backends: [], problems: [] });
  });

  it('reads Open edX and Moodle entries with their defaults', () => {
    const [edx, moo] = parsed([openEdx, moodle]);
    expect(edx).toMatchObject({
      index: 0,
      backend: 'openedx',
      baseUrl: 'http://openedx.test',
      apiToken: TOKEN,
      mode: 'honor',
      studentRoleId: null,
      authMethod: 'manual',
      timeoutMs: 10_000,
    });
    expect(moo).toMatchObject({ index: 1, backend: 'moodle', studentRoleId: 5 });
    expect(parsed([{ ...openEdx, MODE: 'verified', TIMEOUT_MS: 2500 }])[0]!).toMatchObject({
      mode: 'verified',
      timeoutMs: 2500,
    });
    expect(parsed([{ ...moodle, STUDENT_ROLE_ID: '5', AUTH_METHOD: 'oauth2' }])[0]!).toMatchObject({
      studentRoleId: 5,
      authMethod: 'oauth2',
    });
  });

  it('reports JSON that is not an array, or not JSON, without quoting it', () => {
    expect(parseLmsBackends(`{"API_TOKEN": "${TOKEN}"`).problems).toEqual([
      'LMS_BACKENDS must be a JSON array of LMS settings: not JSON',
    ]);
    expect(parse({ BACKEND: 'openedx' }).problems).toEqual([
      'LMS_BACKENDS must be a JSON array of LMS settings, got an object',
    ]);
    expect(parse('openedx').problems).toEqual([
      'LMS_BACKENDS must be a JSON array of LMS settings, got a string',
    ]);
  });

  it('reports every problem of every entry at once, naming the entry', () => {
    const { backends, problems } = parse([
      openEdx,
      {
        BACKEND: 'canvas',
        BASE_URL: 'ftp://lms.test',
        SELECTOR_REGEX: '(unclosed',
        COURSE_REGEX: '^.*/courses/(.*)/course',
        BASEURL: 'typo',
      },
      { ...moodle, STUDENT_ROLE_ID: undefined, COURSE_REGEX: '[', TIMEOUT_MS: 5 },
      { ...moodle, STUDENT_ROLE_ID: -1, MODE: 'honor' },
      { ...openEdx, STUDENT_ROLE_ID: 5, AUTH_METHOD: 'oauth2', API_TOKEN: '' },
      'openedx',
    ]);
    expect(backends.map((settings) => settings.index)).toEqual([0]);
    expect(problems).toEqual([
      expect.stringMatching(/^LMS_BACKENDS\[1\] has an unknown key "BASEURL"; the known keys are/),
      'LMS_BACKENDS[1].BACKEND must be openedx or moodle',
      'LMS_BACKENDS[1].BASE_URL must be an http:// or https:// URL, got "ftp://lms.test"',
      'LMS_BACKENDS[1].SELECTOR_REGEX is not a valid regular expression (Unterminated group), got "(unclosed"',
      'LMS_BACKENDS[1].COURSE_REGEX must have a named group course_id, such as (?P<course_id>…)',
      'LMS_BACKENDS[1].API_TOKEN is missing (a non-empty string)',
      expect.stringMatching(/^LMS_BACKENDS\[2\]\.COURSE_REGEX is not a valid regular expression/),
      'LMS_BACKENDS[2].TIMEOUT_MS must be a whole number from 100 to 120000 (milliseconds)',
      "LMS_BACKENDS[2].STUDENT_ROLE_ID is missing (the id of Moodle's student role, often 5)",
      "LMS_BACKENDS[3].STUDENT_ROLE_ID must be a whole number from 1 to 999999999 (the id of Moodle's student role, often 5)",
      'LMS_BACKENDS[3].MODE applies to openedx backends only',
      'LMS_BACKENDS[4].API_TOKEN is missing (a non-empty string)',
      'LMS_BACKENDS[4].STUDENT_ROLE_ID applies to moodle backends only',
      'LMS_BACKENDS[4].AUTH_METHOD applies to moodle backends only',
      'LMS_BACKENDS[5] must be an object such as {"BACKEND": "openedx", …}',
    ]);
  });

  it('reports missing required keys and wrong types', () => {
    expect(parse([{}]).problems).toEqual([
      'LMS_BACKENDS[0].BACKEND is missing',
      'LMS_BACKENDS[0].BASE_URL is missing',
      'LMS_BACKENDS[0].SELECTOR_REGEX is missing',
      'LMS_BACKENDS[0].COURSE_REGEX is missing',
      'LMS_BACKENDS[0].API_TOKEN is missing (a non-empty string)',
    ]);
    expect(parse([{ ...openEdx, BASE_URL: 42, MODE: '' }]).problems).toEqual([
      'LMS_BACKENDS[0].BASE_URL must be a non-empty string',
    ]);
    expect(parse([{ ...openEdx, BASE_URL: 'not a url' }]).problems).toEqual([
      'LMS_BACKENDS[0].BASE_URL must be an http:// or https:// URL, got "not a url"',
    ]);
  });

  it('never shows a token, even one pasted into another field or key', () => {
    const other = 'another-secret-token-000111222333';
    const { problems } = parse([
      { ...openEdx, BASE_URL: TOKEN, SELECTOR_REGEX: `(${TOKEN}`, [TOKEN]: 'x' },
      { ...moodle, API_TOKEN: other, COURSE_REGEX: `${other}(`, TIMEOUT_MS: other },
      { ...openEdx, BASE_URL: `ftp://${'x'.repeat(200)}` },
    ]);
    expect(problems).toHaveLength(6);
    const text = problems.join('\n');
    for (const secret of [TOKEN, other, 'x'.repeat(200)]) expect(text).not.toContain(secret);
    expect(text).toContain('LMS_BACKENDS[0] has an unknown key (not shown)');
    expect(text).toContain('LMS_BACKENDS[0].BASE_URL must be an http:// or https:// URL\n');
  });

  it('hides the password of a BASE_URL it quotes', () => {
    const { problems } = parse([{ ...openEdx, BASE_URL: 'ftp://admin:hunter2@lms.test' }]);
    expect(problems).toEqual([
      'LMS_BACKENDS[0].BASE_URL must be an http:// or https:// URL, got "ftp://admin:***@lms.test"',
    ]);
  });
});

describe("Python's regular expressions", () => {
  it('rewrites (?P<name>…) and (?P=name), but not inside classes or after a backslash', () => {
    expect(toJsRegexSource('^(?P<course_id>.*)/(?P=course_id)$')).toBe(
      '^(?<course_id>.*)/\\k<course_id>$',
    );
    expect(toJsRegexSource('[(?P<x>]\\(?P<y>')).toBe('[(?P<x>]\\(?P<y>');
    expect(toJsRegexSource('(?<plain>a)')).toBe('(?<plain>a)');
  });

  it('matches from the start, not necessarily to the end, as re.match', () => {
    const regex = new RegExp('moodle\\.test');
    expect(matchFromStart(regex, 'moodle.test/course')).not.toBeNull();
    expect(matchFromStart(regex, 'https://moodle.test/course')).toBeNull();
    // Twice in a row: the sticky copy's lastIndex does not carry over.
    expect(matchFromStart(regex, 'moodle.test')).not.toBeNull();
    expect(matchFromStart(regex, 'moodle.test')).not.toBeNull();
  });
});

describe('selecting the LMS of a resource link', () => {
  const backends = parsed([
    openEdx,
    moodle,
    { ...openEdx, SELECTOR_REGEX: '.*', COURSE_REGEX: '(?P<course_id>.*)' },
  ]);

  it("extracts Joanie's Open edX course id", () => {
    const link = 'http://openedx.test/courses/course-v1:edx+000001+Demo_Course/course';
    expect(selectLms(backends, link)).toEqual({
      backend: backends[0],
      courseId: 'course-v1:edx+000001+Demo_Course',
    });
    expect(selectLms(backends, `${link}/`)?.courseId).toBe('course-v1:edx+000001+Demo_Course');
  });

  it("extracts Joanie's Moodle course id", () => {
    expect(selectLms(backends, 'https://moodle.test/course/view.php?id=2')).toEqual({
      backend: backends[1],
      courseId: '2',
    });
    expect(selectLms(backends, 'https://moodle.test/course/view.php?x=1&id=17#s')?.courseId).toBe(
      '17',
    );
  });

  it('lets the first matching selector win, the catch-all last', () => {
    expect(selectLms(backends, 'https://elsewhere.test/x')).toEqual({
      backend: backends[2],
      courseId: 'https://elsewhere.test/x',
    });
    const reversed = [backends[2]!, backends[0]!];
    expect(selectLms(reversed, 'http://openedx.test/courses/course-v1:a+b+c/course')?.backend).toBe(
      backends[2],
    );
  });

  it('anchors the selector at the start of the link', () => {
    const [moodleOnly] = parsed([{ ...moodle, SELECTOR_REGEX: 'moodle\\.test' }]);
    expect(selectLms([moodleOnly!], 'https://moodle.test/course/view.php?id=2')).toBeNull();
  });

  it('is null when nothing matches, or the chosen course regex extracts nothing', () => {
    expect(selectLms(backends.slice(0, 2), 'https://elsewhere.test/x')).toBeNull();
    // Moodle's selector matches but the link has no id: a later backend is not tried.
    expect(selectLms(backends, 'https://moodle.test/course/index.php')).toBeNull();
    const [empty] = parsed([
      { ...openEdx, SELECTOR_REGEX: '.*', COURSE_REGEX: 'x(?P<course_id>)' },
    ]);
    expect(selectLms([empty!], 'x-course')).toBeNull();
  });
});

describe('the public view of an LMS', () => {
  it('shows no token, and the settings of its kind', () => {
    const [edx, moo] = parsed([openEdx, moodle]);
    expect(publicView(edx!)).toEqual({
      name: 'openedx-0',
      backend: 'openedx',
      baseUrl: 'http://openedx.test',
      selectorRegex: '^.*/courses/(?<course_id>.*)/course/?$',
      courseRegex: '^.*/courses/(?<course_id>.*)/course/?$',
      mode: 'honor',
    });
    expect(publicView(moo!)).toEqual({
      name: 'moodle-1',
      backend: 'moodle',
      baseUrl: 'https://moodle.test/webservice/rest/server.php',
      selectorRegex: '^https://moodle\\.test/',
      courseRegex: '^.*[?&]id=(?<course_id>\\d+)',
      studentRoleId: 5,
    });
    expect(JSON.stringify([publicView(edx!), publicView(moo!)])).not.toContain('secret');
  });

  it('creates the client of each kind', () => {
    const [edx, moo] = parsed([openEdx, moodle]);
    expect(createLmsBackend(edx!)).toBeInstanceOf(OpenEdxBackend);
    expect(createLmsBackend(moo!)).toBeInstanceOf(MoodleBackend);
  });
});

/** One configured LMS, as LMS_BACKENDS lists it (secrets included: never shown or logged). */
export interface LmsBackendSettings {
  /** Position in LMS_BACKENDS: the backend's stable name is `${backend}-${index}`. */
  index: number;
  backend: 'openedx' | 'moodle';
  baseUrl: string;
  /** Matched from the start of a resource link, as Python's re.match (Joanie) does. */
  selectorRegex: RegExp;
  /** Has a named group `course_id` that extracts the LMS's course id from a resource link. */
  courseRegex: RegExp;
  apiToken: string;
  /** Open edX enrolment mode; "honor" by default. */
  mode: string;
  /** Moodle: the role given to enrolled learners. */
  studentRoleId: number | null;
  /** Moodle: the `auth` of users the hub creates; "manual" by default. */
  authMethod: string;
  /** Per call. */
  timeoutMs: number;
}

const ENV = 'LMS_BACKENDS';
const BACKENDS = ['openedx', 'moodle'] as const;
const REQUIRED = ['BACKEND', 'BASE_URL', 'SELECTOR_REGEX', 'COURSE_REGEX', 'API_TOKEN'] as const;
/** Keys that only one kind of backend reads: set on the other, they are a misunderstanding. */
const ONLY_FOR: Record<string, LmsBackendSettings['backend']> = {
  MODE: 'openedx',
  STUDENT_ROLE_ID: 'moodle',
  AUTH_METHOD: 'moodle',
};
const KNOWN_KEYS: readonly string[] = [...REQUIRED, ...Object.keys(ONLY_FOR), 'TIMEOUT_MS'];
const DEFAULT_MODE = 'honor';
const DEFAULT_AUTH_METHOD = 'manual';
const DEFAULT_TIMEOUT_MS = 10_000;
const TIMEOUT_MIN_MS = 100;
const TIMEOUT_MAX_MS = 120_000;
/**
 * The password of a URL as `***` (as hub-config's redact does: not imported, so that the
 * configuration may import this module without a cycle).
 */
const redact = (text: string): string => text.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
/** Longer values are not echoed: a pasted secret is usually long. */
const ECHO_MAX_CHARS = 100;

/**
 * Echoes a value in a problem only when it cannot be a secret: short, and holding none of the
 * configured tokens (a token pasted into the wrong field must not reach the logs).
 */
class Redactor {
  constructor(private readonly tokens: readonly string[]) {}

  /** `"value"`, or null when it must not be shown. */
  quote(value: string): string | null {
    const secret = this.tokens.some((token) => value.includes(token));
    return secret || value.length > ECHO_MAX_CHARS ? null : `"${redact(value)}"`;
  }

  /** `, got "value"` for the end of a problem, or nothing. */
  echo(value: string): string {
    const quoted = this.quote(value);
    return quoted === null ? '' : `, got ${quoted}`;
  }
}

/** Python's `(?P<name>…)` and `(?P=name)` (Joanie's settings) as JavaScript's syntax. */
export const toJsRegexSource = (source: string): string => {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (inClass) {
      out += char;
      inClass = char !== ']';
    } else if (source.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (source.startsWith('(?P=', i) && source.indexOf(')', i) > 0) {
      const end = source.indexOf(')', i);
      out += `\\k<${source.slice(i + 4, end)}>`;
      i = end;
    } else {
      out += char;
      inClass = char === '[';
    }
  }
  return out;
};

type Item = Record<string, unknown>;

/** Reads one LMS_BACKENDS entry, adding what is wrong with it to `problems`. */
class ItemReader {
  private readonly problemsBefore: number;

  constructor(
    private readonly item: Item,
    private readonly index: number,
    private readonly problems: string[],
    private readonly redactor: Redactor,
  ) {
    this.problemsBefore = problems.length;
  }

  get valid(): boolean {
    return this.problems.length === this.problemsBefore;
  }

  problem(key: string | null, text: string): void {
    this.problems.push(`${ENV}[${this.index}]${key === null ? '' : `.${key}`} ${text}`);
  }

  /** A required or optional string; absent: undefined. */
  text(key: string, required: boolean): string | undefined {
    const value = this.item[key];
    if (value === undefined || value === null || value === '') {
      if (required) this.problem(key, 'is missing');
      return undefined;
    }
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    this.problem(key, 'must be a non-empty string');
    return undefined;
  }

  /** A whole number given as a JSON number or a string of digits ("5", as in Joanie's tests). */
  integer(key: string, min: number, max: number, why: string): number | undefined {
    const value = this.item[key];
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
    if (typeof number === 'number' && Number.isInteger(number) && number >= min && number <= max)
      return number;
    const shown = typeof value === 'string' ? this.redactor.echo(value) : '';
    this.problem(key, `must be a whole number from ${min} to ${max} (${why})${shown}`);
    return undefined;
  }

  regex(key: string): RegExp | undefined {
    const source = this.text(key, true);
    if (source === undefined) return undefined;
    try {
      return new RegExp(toJsRegexSource(source));
    } catch (error) {
      // The engine's message repeats the pattern: only its last part, the reason, is kept.
      const message = error instanceof Error ? error.message : String(error);
      const reason = message.slice(message.lastIndexOf(': ') + 2);
      this.problem(
        key,
        `is not a valid regular expression (${reason})${this.redactor.echo(source)}`,
      );
      return undefined;
    }
  }

  unknownKeys(): void {
    for (const key of Object.keys(this.item).filter((key) => !KNOWN_KEYS.includes(key)))
      this.problem(
        null,
        `has an unknown key ${this.redactor.quote(key) ?? '(not shown)'}; the known keys are ${KNOWN_KEYS.join(', ')}`,
      );
  }
}

const readBackend = (reader: ItemReader): LmsBackendSettings['backend'] | undefined => {
  const backend = reader.text('BACKEND', true);
  if (backend === undefined) return undefined;
  if ((BACKENDS as readonly string[]).includes(backend))
    return backend as LmsBackendSettings['backend'];
  reader.problem('BACKEND', `must be ${BACKENDS.join(' or ')}`);
  return undefined;
};

const readBaseUrl = (reader: ItemReader, redactor: Redactor): string | undefined => {
  const baseUrl = reader.text('BASE_URL', true);
  if (baseUrl === undefined) return undefined;
  let protocol: string | null = null;
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    // reported below
  }
  if (protocol === 'http:' || protocol === 'https:') return baseUrl;
  reader.problem('BASE_URL', `must be an http:// or https:// URL${redactor.echo(baseUrl)}`);
  return undefined;
};

const readCourseRegex = (reader: ItemReader): RegExp | undefined => {
  const courseRegex = reader.regex('COURSE_REGEX');
  // `groups` lists every named group, matched or not: an alternative that matches '' shows them.
  const groups = courseRegex && new RegExp(`(?:${courseRegex.source})|`).exec('')?.groups;
  if (courseRegex !== undefined && !(groups && 'course_id' in groups)) {
    reader.problem('COURSE_REGEX', 'must have a named group course_id, such as (?P<course_id>…)');
    return undefined;
  }
  return courseRegex;
};

/** Settings set for the other kind of backend than this one. */
const checkKeysApply = (reader: ItemReader, item: Item, backend: LmsBackendSettings['backend']) => {
  for (const [key, only] of Object.entries(ONLY_FOR))
    if (item[key] !== undefined && only !== backend)
      reader.problem(key, `applies to ${only} backends only`);
};

const readItem = (
  item: unknown,
  index: number,
  problems: string[],
  redactor: Redactor,
): LmsBackendSettings | null => {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    problems.push(`${ENV}[${index}] must be an object such as {"BACKEND": "openedx", …}`);
    return null;
  }
  const fields = item as Item;
  const reader = new ItemReader(fields, index, problems, redactor);
  reader.unknownKeys();
  const backend = readBackend(reader);
  const baseUrl = readBaseUrl(reader, redactor);
  const selectorRegex = reader.regex('SELECTOR_REGEX');
  const courseRegex = readCourseRegex(reader);
  const apiToken = typeof fields.API_TOKEN === 'string' ? fields.API_TOKEN.trim() : '';
  if (apiToken === '') reader.problem('API_TOKEN', 'is missing (a non-empty string)');
  const mode = reader.text('MODE', false) ?? DEFAULT_MODE;
  const authMethod = reader.text('AUTH_METHOD', false) ?? DEFAULT_AUTH_METHOD;
  const timeoutMs = reader.integer('TIMEOUT_MS', TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, 'milliseconds');
  const studentRoleId = reader.integer(
    'STUDENT_ROLE_ID',
    1,
    999_999_999,
    "the id of Moodle's student role, often 5",
  );
  if (backend !== undefined) checkKeysApply(reader, fields, backend);
  const roleAbsent = [undefined, null, ''].includes(fields.STUDENT_ROLE_ID as never);
  if (backend === 'moodle' && roleAbsent)
    reader.problem('STUDENT_ROLE_ID', "is missing (the id of Moodle's student role, often 5)");
  if (!reader.valid || !backend || !baseUrl || !selectorRegex || !courseRegex) return null;
  return {
    index,
    backend,
    baseUrl,
    selectorRegex,
    courseRegex,
    apiToken,
    mode,
    studentRoleId: backend === 'moodle' ? (studentRoleId ?? null) : null,
    authMethod,
    timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
};

/** Every API_TOKEN given, so that none is echoed wherever it was pasted. */
const tokensOf = (items: readonly unknown[]): string[] =>
  items.flatMap((item) => {
    const token: unknown =
      typeof item === 'object' && item !== null ? (item as Item).API_TOKEN : undefined;
    return typeof token === 'string' && token.trim() !== '' ? [token, token.trim()] : [];
  });

/**
 * LMS_BACKENDS: a JSON array of the LMSs enrolments are mirrored to (Joanie's
 * JOANIE_LMS_BACKENDS, with our own BACKEND names). Unset or blank: none. Every problem is
 * reported at once; entries with problems are left out of `backends`.
 */
export const parseLmsBackends = (
  raw: string | undefined,
): { backends: LmsBackendSettings[]; problems: string[] } => {
  if (raw === undefined || raw.trim() === '') return { backends: [], problems: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // The parser's message quotes the text around the mistake, which may hold a token.
    return { backends: [], problems: [`${ENV} must be a JSON array of LMS settings: not JSON`] };
  }
  if (!Array.isArray(parsed))
    return {
      backends: [],
      problems: [`${ENV} must be a JSON array of LMS settings, got ${describe(parsed)}`],
    };
  const problems: string[] = [];
  const redactor = new Redactor(tokensOf(parsed));
  const backends = parsed
    .map((item, index) => readItem(item, index, problems, redactor))
    .filter((settings) => settings !== null);
  return { backends, problems };
};

const describe = (value: unknown): string =>
  value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;

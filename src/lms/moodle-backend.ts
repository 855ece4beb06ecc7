import {
  backendName,
  LmsBackend,
  LmsBackendSettings,
  LmsCallError,
  LmsLearner,
  sendLmsRequest,
  withoutToken,
} from './lms-backend';

/** Where learners without an email address get one: `.invalid` never delivers (RFC 6761). */
export const PLACEHOLDER_EMAIL_DOMAIN = 'learning-hub.invalid';
const MESSAGE_MAX_CHARS = 500;

/**
 * Moodle needs a valid email address, unique unless `allowaccountssameemail` is on: one derived
 * from the username, injectively (every character outside [a-z0-9_-] as `=` and its UTF-8 hex,
 * `=` included), e.g. `jane.doe` → `jane=2Edoe@learning-hub.invalid`.
 */
export const placeholderEmail = (username: string): string => {
  const local = encodeURIComponent(username.toLowerCase())
    .replace(/[.!~*'()]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%/g, '=');
  return `${local}@${PLACEHOLDER_EMAIL_DOMAIN}`;
};

/**
 * Moodle error codes that say the server, not the call, is at fault: its database could not be
 * read, written or reached (dml_read/write/transaction/connection exceptions), or a session lock
 * timed out. `invalidrecord` (dml_missing_record_exception) is not one: the record is missing.
 */
const TRANSIENT_ERROR_CODES =
  /^(dml(read|write|transaction)exception|dbconnectionfailed|sessionwaiterr)$/;

export const isTransientMoodleError = (errorcode: string): boolean =>
  TRANSIENT_ERROR_CODES.test(errorcode);

type Params = Record<string, string>;

/** Moodle web services over REST (Joanie's backends/moodle.py): every call a form POST. */
export class MoodleBackend implements LmsBackend {
  private readonly serverUrl: string;

  constructor(readonly settings: LmsBackendSettings) {
    this.serverUrl = settings.baseUrl.replace(/\/+$/, '');
  }

  /** core_enrol_get_users_courses lists the courses the user is actively enrolled in. */
  async isEnrolled(learner: LmsLearner, courseId: string, signal?: AbortSignal): Promise<boolean> {
    const moodleCourseId = this.courseIdOf(courseId);
    const userId = await this.findUser(learner.username, signal);
    if (userId === null) return false;
    const courses = await this.call(
      'core_enrol_get_users_courses',
      { userid: String(userId) },
      signal,
    );
    if (!Array.isArray(courses)) throw this.unexpected('core_enrol_get_users_courses');
    return courses.some((course: { id?: unknown }) => String(course?.id) === moodleCourseId);
  }

  /** Enrols (creating the user when Moodle has none) or unenrols; a missing user is not enrolled. */
  async setEnrolled(
    learner: LmsLearner,
    courseId: string,
    active: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const moodleCourseId = this.courseIdOf(courseId);
    const roleId = this.settings.studentRoleId;
    if (active && roleId === null)
      throw new LmsCallError(
        `${backendName(this.settings)}: no STUDENT_ROLE_ID to enrol with`,
        false,
        null,
      );
    const found = await this.findUser(learner.username, signal);
    if (!active && found === null) return;
    const userId = found ?? (await this.createUser(learner, signal));
    const enrolment = {
      'enrolments[0][courseid]': moodleCourseId,
      'enrolments[0][userid]': String(userId),
      // Optional when unenrolling; the configured role is sent whenever there is one.
      ...(roleId === null ? {} : { 'enrolments[0][roleid]': String(roleId) }),
    };
    const wsfunction = active ? 'enrol_manual_enrol_users' : 'enrol_manual_unenrol_users';
    await this.call(wsfunction, enrolment, signal);
  }

  /** Moodle's course ids are numbers; kept as text, which is how they travel. */
  private courseIdOf(courseId: string): string {
    if (/^[1-9]\d{0,17}$/.test(courseId)) return courseId;
    throw new LmsCallError(
      `${backendName(this.settings)}: a Moodle course id is a whole number, got "${courseId.slice(0, 100)}"`,
      false,
      null,
    );
  }

  /** Moodle keeps usernames in lower case. */
  private async findUser(username: string, signal?: AbortSignal): Promise<number | null> {
    const wanted = username.toLowerCase();
    const answer = await this.call(
      'core_user_get_users',
      { 'criteria[0][key]': 'username', 'criteria[0][value]': wanted },
      signal,
    );
    const users = (answer as { users?: unknown } | null)?.users;
    if (!Array.isArray(users)) throw this.unexpected('core_user_get_users');
    const user = users.find(
      (candidate: { username?: unknown }) => candidate?.username === wanted,
    ) as { id?: unknown } | undefined;
    return typeof user?.id === 'number' ? user.id : null;
  }

  /** Missing names become the username and "." (as Joanie does), a missing email a placeholder. */
  private async createUser(learner: LmsLearner, signal?: AbortSignal): Promise<number> {
    const username = learner.username.toLowerCase();
    const answer = await this.call(
      'core_user_create_users',
      {
        'users[0][username]': username,
        'users[0][firstname]': learner.firstName?.trim() || learner.username,
        'users[0][lastname]': learner.lastName?.trim() || '.',
        'users[0][email]': learner.email?.trim() || placeholderEmail(learner.username),
        'users[0][auth]': this.settings.authMethod,
        'users[0][idnumber]': learner.username,
      },
      signal,
    );
    const id: unknown = Array.isArray(answer)
      ? (answer[0] as { id?: unknown } | undefined)?.id
      : undefined;
    if (typeof id !== 'number') throw this.unexpected('core_user_create_users');
    return id;
  }

  /** One web-service function; its JSON answer (null for the enrol functions). */
  private async call(wsfunction: string, params: Params, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(this.serverUrl);
    url.searchParams.set('wstoken', this.settings.apiToken);
    url.searchParams.set('wsfunction', wsfunction);
    url.searchParams.set('moodlewsrestformat', 'json');
    const answer = await sendLmsRequest(
      this.settings,
      {
        method: 'POST',
        url: url.toString(),
        headers: {
          Accept: 'application/json',
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams(params).toString(),
        what: wsfunction,
      },
      signal,
    );
    const parsed = this.parseJson(wsfunction, answer.body);
    this.throwIfException(wsfunction, parsed);
    return parsed;
  }

  private parseJson(wsfunction: string, body: string): unknown {
    if (body.trim() === '') return null;
    try {
      return JSON.parse(body);
    } catch {
      // An HTML error page or XML (when moodlewsrestformat is ignored): not an answer to trust.
      throw this.unexpected(wsfunction);
    }
  }

  /** Moodle answers failures with HTTP 200 and `{exception, errorcode, message}`. */
  private throwIfException(wsfunction: string, answer: unknown): void {
    if (typeof answer !== 'object' || answer === null || !('exception' in answer)) return;
    const { errorcode, message } = answer as { errorcode?: unknown; message?: unknown };
    const code = typeof errorcode === 'string' ? errorcode : 'unknown';
    const said = typeof message === 'string' ? message.slice(0, MESSAGE_MAX_CHARS) : '';
    throw new LmsCallError(
      withoutToken(
        this.settings,
        `${backendName(this.settings)}: ${wsfunction} failed: ${code}: ${said}`,
      ),
      isTransientMoodleError(code),
      200,
    );
  }

  private unexpected(wsfunction: string): LmsCallError {
    return new LmsCallError(
      `${backendName(this.settings)}: ${wsfunction} answered something unexpected`,
      false,
      200,
    );
  }
}

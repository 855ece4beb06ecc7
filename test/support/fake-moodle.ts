import { FakeAnswer, FakeLmsOptions, FakeLmsServer, RecordedCall } from './fake-openedx';

export interface MoodleUser {
  id: number;
  username: string;
  firstname: string;
  lastname: string;
  email: string;
  auth: string;
  idnumber: string;
}

export interface FakeMoodleOptions extends FakeLmsOptions {
  /** The web-service token wstoken must carry. */
  token: string;
  /** Course ids that exist. */
  courses: number[];
  /** Roles the token may assign; [5] (student) when unset. */
  assignableRoles?: number[];
  /** Authentication plugins installed; manual, nologin and oauth2 when unset. */
  authPlugins?: string[];
  /** The REST server's path; /webservice/rest/server.php when unset. */
  path?: string;
}

type Call = Omit<RecordedCall, 'status' | 'answer'>;
type Params = Record<string, string>;

/** Moodle's answers to failures: HTTP 200 and an exception object. */
const exception = (exceptionName: string, errorcode: string, message: string): FakeAnswer => ({
  status: 200,
  json: { exception: exceptionName, errorcode, message },
});
const invalidParameter = (detail?: string): FakeAnswer =>
  exception(
    'invalid_parameter_exception',
    'invalidparameter',
    `Invalid parameter value detected${detail ? ` (${detail})` : ''}`,
  );
const missingRecord = (table: string): FakeAnswer =>
  exception(
    'dml_missing_record_exception',
    'invalidrecord',
    `Can't find data record in database table ${table}.`,
  );

/** The parameters each function takes: required first, then optional. */
const SIGNATURES: Record<string, { required: string[]; optional: string[] }> = {
  core_user_get_users: { required: ['criteria[0][key]', 'criteria[0][value]'], optional: [] },
  core_user_create_users: {
    required: ['username', 'firstname', 'lastname', 'email'].map((f) => `users[0][${f}]`),
    optional: ['auth', 'idnumber', 'password', 'createpassword'].map((f) => `users[0][${f}]`),
  },
  core_enrol_get_users_courses: { required: ['userid'], optional: ['returnusercount'] },
  enrol_manual_enrol_users: {
    required: ['roleid', 'userid', 'courseid'].map((f) => `enrolments[0][${f}]`),
    optional: ['timestart', 'timeend', 'suspend'].map((f) => `enrolments[0][${f}]`),
  },
  enrol_manual_unenrol_users: {
    required: ['userid', 'courseid'].map((f) => `enrolments[0][${f}]`),
    optional: ['enrolments[0][roleid]'],
  },
};
const CRITERIA_KEYS = ['id', 'lastname', 'firstname', 'idnumber', 'username', 'email', 'auth'];
const USERNAME = /^[a-z0-9_.@-]+$/;
const EMAIL =
  /^[-!#$%&'*+/0-9=?A-Z^_`a-z{|}~]+(\.[-!#$%&'*+/0-9=?A-Z^_`a-z{|}~]+)*@[-!#$%&'*+/0-9=?A-Z^_`a-z{|}~]+\.[-!#$%&'*+./0-9=?A-Z^_`a-z{|}~]+$/;

/**
 * Moodle's REST web services (webservice/rest/server.php) for the functions the hub calls:
 * token, function and format in the query, parameters form-encoded in the body, and failures
 * answered 200 with `{exception, errorcode, message}` as Moodle does.
 */
export class FakeMoodle extends FakeLmsServer {
  readonly users: MoodleUser[] = [];
  /** `${userId}|${courseId}` → the role of an active enrolment. */
  readonly enrolments = new Map<string, number>();
  private readonly changes = new Map<string, number>();
  private readonly creations = new Map<string, number>();
  private nextUserId = 2; // 1 is Moodle's guest user

  private constructor(protected override readonly options: FakeMoodleOptions) {
    super(options);
  }

  static async start(options: FakeMoodleOptions): Promise<FakeMoodle> {
    const fake = new FakeMoodle(options);
    await fake.listen();
    return fake;
  }

  get path(): string {
    return this.options.path ?? '/webservice/rest/server.php';
  }

  /** What BASE_URL is set to. */
  get baseUrl(): string {
    return `${this.origin}${this.path}`;
  }

  /** Adds a user, as if made in Moodle itself. */
  addUser(username: string, fields: Partial<Omit<MoodleUser, 'id' | 'username'>> = {}): MoodleUser {
    const user: MoodleUser = {
      id: this.nextUserId++,
      username,
      firstname: 'First',
      lastname: 'Last',
      email: `${username}@example.org`,
      auth: 'manual',
      idnumber: '',
      ...fields,
    };
    this.users.push(user);
    return user;
  }

  user(username: string): MoodleUser | undefined {
    return this.users.find((user) => user.username === username);
  }

  isEnrolled(username: string, courseId: number): boolean {
    const user = this.user(username);
    return user !== undefined && this.enrolments.has(`${user.id}|${courseId}`);
  }

  /** Enrol and unenrol calls handled for (username, course), whether they changed anything. */
  stateChangingCalls(username: string, courseId: number): number {
    return this.changes.get(`${username}|${courseId}`) ?? 0;
  }

  /** Every `${username}|${courseId}` enrolled or unenrolled more than once. */
  calledMoreThanOnce(): string[] {
    return [...this.changes].filter(([, count]) => count > 1).map(([key]) => key);
  }

  /** core_user_create_users calls that created this user. */
  userCreations(username: string): number {
    return this.creations.get(username) ?? 0;
  }

  /** The function a recorded call named. */
  static functionOf(call: RecordedCall): string | undefined {
    return call.query.wsfunction;
  }

  /** The form parameters of a recorded call. */
  static paramsOf(call: RecordedCall): Params {
    return Object.fromEntries(new URLSearchParams(call.body));
  }

  protected handle(call: Call): FakeAnswer {
    if (call.path !== this.path)
      return { status: 404, text: '<h1>Not Found</h1>', contentType: 'text/html' };
    if (call.method !== 'POST') return { status: 405, text: 'Method Not Allowed' };
    if (call.query.wstoken !== this.options.token)
      return exception('moodle_exception', 'invalidtoken', 'Invalid token - token not found');
    if (call.query.moodlewsrestformat !== 'json')
      return {
        status: 200,
        contentType: 'application/xml',
        text: '<?xml version="1.0" encoding="UTF-8" ?><EXCEPTION class="moodle_exception"/>',
      };
    const name = call.query.wsfunction ?? '';
    const signature = SIGNATURES[name];
    if (!signature) return missingRecord('external_functions');
    // PHP fills $_POST only from form bodies: any other body brings no parameters.
    const form = /^application\/x-www-form-urlencoded(;|$)/.test(
      call.headers['content-type'] ?? '',
    );
    const params: Params = form ? Object.fromEntries(new URLSearchParams(call.body)) : {};
    const wrong = this.checkParams(params, signature);
    return wrong ?? this.run(name, params);
  }

  private checkParams(params: Params, signature: { required: string[]; optional: string[] }) {
    const missing = signature.required.filter((key) => params[key] === undefined);
    if (missing.length > 0)
      return invalidParameter(`Missing required key in single structure: ${missing[0]}`);
    const known = [...signature.required, ...signature.optional];
    const unexpected = Object.keys(params).filter((key) => !known.includes(key));
    if (unexpected.length > 0)
      return invalidParameter(
        `Unexpected keys (${unexpected.join(', ')}) detected in parameter array.`,
      );
    return null;
  }

  private run(name: string, params: Params): FakeAnswer {
    switch (name) {
      case 'core_user_get_users':
        return this.getUsers(params);
      case 'core_user_create_users':
        return this.createUser(params);
      case 'core_enrol_get_users_courses':
        return this.usersCourses(params);
      case 'enrol_manual_enrol_users':
        return this.enrol(params);
      case 'enrol_manual_unenrol_users':
        return this.unenrol(params);
      default:
        return missingRecord('external_functions');
    }
  }

  private getUsers(params: Params): FakeAnswer {
    const key = params['criteria[0][key]']!;
    if (!CRITERIA_KEYS.includes(key))
      return invalidParameter(`The search key '${key}' is not supported`);
    const value = params['criteria[0][value]']!;
    const users = this.users.filter((user) => String(user[key as keyof MoodleUser]) === value);
    return {
      status: 200,
      json: {
        users: users.map((user) => ({ ...user, fullname: `${user.firstname} ${user.lastname}` })),
        warnings: [],
      },
    };
  }

  /** core_user_create_users's checks (user/externallib.php), with its messages. */
  private createUser(params: Params): FakeAnswer {
    const field = (name: string) => params[`users[0][${name}]`] ?? '';
    const username = field('username');
    if (!USERNAME.test(username)) return invalidParameter(`Username is invalid: ${username}`);
    if (this.user(username)) return invalidParameter(`Username already exists: ${username}`);
    const auth = field('auth') || 'manual';
    if (!(this.options.authPlugins ?? ['manual', 'nologin', 'oauth2']).includes(auth))
      return invalidParameter(`Invalid authentication type: ${auth}`);
    if (!EMAIL.test(field('email')))
      return invalidParameter(`Email address is invalid: ${field('email')}`);
    if (this.users.some((user) => user.email === field('email')))
      return invalidParameter(`Email address already exists: ${field('email')}`);
    if (field('firstname').trim() === '' || field('lastname').trim() === '')
      return invalidParameter('The field firstname and lastname cannot be blank');
    const user = this.addUser(username, {
      firstname: field('firstname'),
      lastname: field('lastname'),
      email: field('email'),
      auth,
      idnumber: field('idnumber'),
    });
    this.creations.set(username, (this.creations.get(username) ?? 0) + 1);
    return { status: 200, json: [{ id: user.id, username }] };
  }

  private usersCourses(params: Params): FakeAnswer {
    const userId = Number(params.userid);
    const courses = [...this.enrolments.keys()]
      .filter((key) => key.startsWith(`${userId}|`))
      .map((key) => Number(key.split('|')[1]))
      .map((id) => ({ id, shortname: `C${id}`, fullname: `Course ${id}`, visible: 1 }));
    return { status: 200, json: courses };
  }

  /** The course's context and the user must exist, and the role be assignable. */
  private target(params: Params): { user: MoodleUser; courseId: number } | FakeAnswer {
    const courseId = Number(params['enrolments[0][courseid]']);
    if (!this.options.courses.includes(courseId)) return invalidParameter('Context does not exist');
    const user = this.users.find(
      (candidate) => candidate.id === Number(params['enrolments[0][userid]']),
    );
    if (!user) return missingRecord('user');
    return { user, courseId };
  }

  private enrol(params: Params): FakeAnswer {
    const target = this.target(params);
    if ('status' in target) return target;
    const roleId = Number(params['enrolments[0][roleid]']);
    if (!(this.options.assignableRoles ?? [5]).includes(roleId))
      return exception(
        'moodle_exception',
        'wsusercannotassign',
        `You don't have the permission to assign this role (${roleId}) to this user (${target.user.id}) in this course(${target.courseId}).`,
      );
    this.enrolments.set(`${target.user.id}|${target.courseId}`, roleId);
    this.count(`${target.user.username}|${target.courseId}`);
    return { status: 200, json: null };
  }

  /** Unenrolling someone not enrolled is no error in Moodle. */
  private unenrol(params: Params): FakeAnswer {
    const target = this.target(params);
    if ('status' in target) return target;
    this.enrolments.delete(`${target.user.id}|${target.courseId}`);
    this.count(`${target.user.username}|${target.courseId}`);
    return { status: 200, json: null };
  }

  private count(key: string): void {
    this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
  }
}

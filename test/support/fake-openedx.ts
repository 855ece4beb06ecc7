import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';

/*
 * The machinery of both fake LMSs (this file and fake-moodle.ts): a real HTTP server on
 * 127.0.0.1 that records every call, with failures injected on demand. Then Open edX's
 * enrollment API, checked as strictly as the real one would be.
 */

/** One call a fake LMS got, and what it answered. */
export interface RecordedCall {
  method: string;
  /** The path without the query, exactly as sent (not decoded). */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The body exactly as sent. */
  body: string;
  /** The status answered; null when the socket was destroyed or no answer came. */
  status: number | null;
  /** The body answered. */
  answer: string;
  receivedAt: number;
}

/** What the fake does with one call instead of (or around) handling it. */
export type InjectedAnswer =
  /** Answers this, without handling the call. */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Destroys the socket before handling: a network error, nothing changed. */
  | { kind: 'destroy' }
  /** Handles the call (its change is made), then destroys the socket: the answer is lost. */
  | { kind: 'handle-then-destroy' }
  /** Never answers: the client times out. */
  | { kind: 'hang' }
  /** Handles the call after a delay. */
  | { kind: 'delay'; ms: number };

export interface FakeLmsOptions {
  /** The fraction of calls answered 503 (not handled), drawn from a seeded RNG. */
  failRate?: number;
  /** Seed of that RNG, so that a run can be repeated; 1 when unset. */
  seed?: number;
  /** Delay before every answer. */
  latencyMs?: number;
  /** Decides a call's fate before the queue and failRate; undefined: no say. */
  hook?: (call: Omit<RecordedCall, 'status' | 'answer'>) => InjectedAnswer | undefined;
}

/** What a handler answers. */
export interface FakeAnswer {
  status: number;
  /** JSON-encoded unless `text` is set. */
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** mulberry32: small, fast and deterministic, enough to pick failing calls. */
const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A recording HTTP server; subclasses answer the calls the fault injection lets through. */
export abstract class FakeLmsServer {
  readonly calls: RecordedCall[] = [];
  /** Injected answers for the next calls, first in first out (after `hook`, before failRate). */
  readonly nextAnswers: InjectedAnswer[] = [];
  private readonly server: Server;
  private readonly random: () => number;
  private port = 0;

  protected constructor(protected readonly options: FakeLmsOptions) {
    this.random = seededRandom(options.seed ?? 1);
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => void this.receive(request, Buffer.concat(chunks), response));
    });
  }

  /** Handles a call that got through; may change the fake's state. */
  protected abstract handle(call: Omit<RecordedCall, 'status' | 'answer'>): FakeAnswer;

  protected async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** http://127.0.0.1:port, without a trailing slash. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Calls with this method (and path, when given). */
  callsOf(method: string, path?: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method && (!path || call.path === path));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private injected(call: Omit<RecordedCall, 'status' | 'answer'>): InjectedAnswer | undefined {
    const hooked = this.options.hook?.(call);
    if (hooked) return hooked;
    const queued = this.nextAnswers.shift();
    if (queued) return queued;
    if (this.options.failRate && this.random() < this.options.failRate)
      return { kind: 'status', status: 503, body: 'Service Unavailable (injected)' };
    return undefined;
  }

  private async receive(request: IncomingMessage, body: Buffer, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://fake');
    const call = {
      method: request.method ?? '',
      path: (request.url ?? '/').split('?')[0]!,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      body: body.toString('utf8'),
      receivedAt: Date.now(),
    };
    const recorded: RecordedCall = { ...call, status: null, answer: '' };
    this.calls.push(recorded);
    const injected = this.injected(call);
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    if (injected?.kind === 'delay') await sleep(injected.ms);
    if (injected?.kind === 'hang') return;
    if (injected?.kind === 'destroy') return void request.socket.destroy();
    const answer: FakeAnswer =
      injected?.kind === 'status'
        ? { status: injected.status, text: injected.body ?? '', headers: injected.headers ?? {} }
        : this.handle(call);
    if (injected?.kind === 'handle-then-destroy') return void request.socket.destroy();
    recorded.status = answer.status;
    recorded.answer = answer.text ?? JSON.stringify(answer.json ?? null);
    const contentType =
      answer.contentType ?? (answer.text === undefined ? 'application/json' : 'text/plain');
    response.writeHead(answer.status, { 'content-type': contentType, ...answer.headers });
    response.end(recorded.answer);
  }
}

export interface OpenEdxEnrollment {
  user: string;
  courseId: string;
  mode: string;
  isActive: boolean;
  created: string;
}

export interface FakeOpenEdxOptions extends FakeLmsOptions {
  /** The key X-Edx-Api-Key must carry. */
  apiKey: string;
  /** Course runs and the modes each offers; "audit" and "honor" when none are listed. */
  courses: Record<string, string[] | undefined>;
  /** When set, other usernames are answered 406 "The user … does not exist."; else any goes. */
  users?: string[];
}

/** Open edX's course key pattern (COURSE_ID_PATTERN, course-v1:org+course+run or org/course/run). */
const COURSE_ID_PATTERN = /^[^/+]+(\/|\+)[^/+]+(\/|\+)[^/?]+$/;
const ENROLLMENT_PATH = '/api/enrollment/v1/enrollment';
const POST_KEYS = ['user', 'mode', 'is_active', 'course_details'];

/**
 * Open edX's enrollment API (openedx/core/djangoapps/enrollments/views.py): GET one enrollment,
 * POST to create, reactivate or deactivate one. Answers as Django and DRF do when a call is wrong.
 */
export class FakeOpenEdx extends FakeLmsServer {
  /** Keyed by `${user}|${courseId}`. */
  readonly enrollments = new Map<string, OpenEdxEnrollment>();
  /** POSTs handled (changing the enrollment or not), per `${user}|${courseId}`. */
  private readonly changes = new Map<string, number>();

  private constructor(protected override readonly options: FakeOpenEdxOptions) {
    super(options);
  }

  static async start(options: FakeOpenEdxOptions): Promise<FakeOpenEdx> {
    const fake = new FakeOpenEdx(options);
    await fake.listen();
    return fake;
  }

  get baseUrl(): string {
    return this.origin;
  }

  enrollment(user: string, courseId: string): OpenEdxEnrollment | undefined {
    return this.enrollments.get(`${user}|${courseId}`);
  }

  /** Seeds an enrollment, as if made in the LMS itself. */
  enrol(user: string, courseId: string, isActive = true, mode = 'honor'): void {
    const created = new Date().toISOString();
    this.enrollments.set(`${user}|${courseId}`, { user, courseId, mode, isActive, created });
  }

  /** How many POSTs for this enrollment were handled: a mirror that repeats itself shows here. */
  stateChangingCalls(user: string, courseId: string): number {
    return this.changes.get(`${user}|${courseId}`) ?? 0;
  }

  /** Every `${user}|${courseId}` POSTed more than once. */
  calledMoreThanOnce(): string[] {
    return [...this.changes].filter(([, count]) => count > 1).map(([key]) => key);
  }

  protected handle(call: Omit<RecordedCall, 'status' | 'answer'>): FakeAnswer {
    const denied = this.checkKey(call.headers);
    if (denied) return denied;
    if (call.method === 'GET' && call.path.startsWith(`${ENROLLMENT_PATH}/`))
      return this.get(call.path.slice(ENROLLMENT_PATH.length + 1));
    if (call.method === 'POST' && call.path === ENROLLMENT_PATH) return this.post(call);
    if (call.path === ENROLLMENT_PATH || call.path.startsWith(`${ENROLLMENT_PATH}/`))
      return { status: 405, json: { detail: `Method "${call.method}" not allowed.` } };
    return { status: 404, text: '<h1>Not Found</h1>', contentType: 'text/html' };
  }

  /** DRF: no credentials 401; a wrong key is a failed permission, 403. */
  private checkKey(headers: IncomingHttpHeaders): FakeAnswer | null {
    const key = headers['x-edx-api-key'];
    if (key === undefined)
      return { status: 401, json: { detail: 'Authentication credentials were not provided.' } };
    if (key !== this.options.apiKey)
      return {
        status: 403,
        json: { detail: 'You do not have permission to perform this action.' },
      };
    return null;
  }

  /** `{username},{course_id}`, percent-decoded as Django does before routing. */
  private get(rawPath: string): FakeAnswer {
    const comma = rawPath.indexOf(',');
    if (comma < 0) return { status: 404, text: '<h1>Not Found</h1>', contentType: 'text/html' };
    const user = decodeURIComponent(rawPath.slice(0, comma));
    const courseId = decodeURIComponent(rawPath.slice(comma + 1));
    if (!COURSE_ID_PATTERN.test(courseId))
      return { status: 404, text: '<h1>Not Found</h1>', contentType: 'text/html' };
    const enrollment = this.enrollment(user, courseId);
    return { status: 200, json: enrollment ? this.view(enrollment) : null };
  }

  private post(call: Omit<RecordedCall, 'status' | 'answer'>): FakeAnswer {
    const contentType = call.headers['content-type'] ?? '';
    if (!/^application\/json(;|$)/.test(contentType))
      return {
        status: 415,
        json: { detail: `Unsupported media type "${contentType}" in request.` },
      };
    let body: any;
    try {
      body = JSON.parse(call.body);
    } catch {
      return { status: 400, json: { detail: 'JSON parse error' } };
    }
    const wrong = this.checkPost(body);
    if (wrong) return wrong;
    const {
      user,
      mode,
      is_active: isActive,
    } = body as { user: string; mode: string; is_active: boolean };
    const courseId: string = body.course_details.course_id;
    const before = this.enrollment(user, courseId);
    if (!before || before.isActive !== isActive || before.mode !== mode)
      this.enrol(user, courseId, isActive, mode);
    const key = `${user}|${courseId}`;
    this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
    return { status: 200, json: this.view(this.enrollment(user, courseId)!) };
  }

  /** The checks of EnrollmentListView.post, with its messages. */
  private checkPost(body: any): FakeAnswer | null {
    const bad = (message: string, status = 400): FakeAnswer => ({ status, json: { message } });
    if (typeof body !== 'object' || body === null) return bad('Invalid request body.');
    const extra = Object.keys(body).filter((key) => !POST_KEYS.includes(key));
    if (extra.length > 0) return bad(`Unexpected fields: ${extra.join(', ')}`);
    const courseId: unknown = body.course_details?.course_id;
    if (typeof courseId !== 'string' || courseId === '')
      return bad('Course ID must be specified to create a new enrollment.');
    if (typeof body.user !== 'string' || body.user === '') return bad('User must be specified.');
    if (!COURSE_ID_PATTERN.test(courseId) || !(courseId in this.options.courses))
      return bad(`No course '${courseId}' found for enrollment`);
    if (typeof body.is_active !== 'boolean')
      return bad(`'${String(body.is_active)}' is an invalid enrollment activation status.`);
    if (this.options.users && !this.options.users.includes(body.user))
      return bad(`The user ${body.user} does not exist.`, 406);
    const modes = this.options.courses[courseId] ?? ['audit', 'honor'];
    if (typeof body.mode !== 'string' || !modes.includes(body.mode))
      return bad(
        `The [${String(body.mode)}] course mode is expired or otherwise unavailable for course run [${courseId}].`,
      );
    return null;
  }

  private view(enrollment: OpenEdxEnrollment) {
    return {
      created: enrollment.created,
      mode: enrollment.mode,
      is_active: enrollment.isActive,
      course_details: { course_id: enrollment.courseId, course_name: 'Demo Course' },
      user: enrollment.user,
    };
  }
}

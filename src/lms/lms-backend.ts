import type { LmsBackendSettings } from '../config/lms-backends';

export type { LmsBackendSettings };

/** The learner as an LMS knows them: the username is the key; the rest creates a Moodle user. */
export interface LmsLearner {
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
}

/**
 * Why an LMS call did not succeed. `retryable` for network errors, timeouts, 5xx and 429 (with
 * the delay the LMS asked for, from Retry-After); every other answer fails at once.
 */
export class LmsCallError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The HTTP status, null for a network error or a timeout. */
    readonly status: number | null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'LmsCallError';
  }
}

/** What the mirror needs of an LMS: read one learner's enrolment in a course, and set it. */
export interface LmsBackend {
  readonly settings: LmsBackendSettings;
  /** True when the learner is actively enrolled; false when not enrolled or inactive. */
  isEnrolled(learner: LmsLearner, courseId: string, signal?: AbortSignal): Promise<boolean>;
  /** Enrols (creating the user where the LMS needs one) or unenrols. */
  setEnrolled(
    learner: LmsLearner,
    courseId: string,
    active: boolean,
    signal?: AbortSignal,
  ): Promise<void>;
}

export const backendName = (settings: Pick<LmsBackendSettings, 'backend' | 'index'>): string =>
  `${settings.backend}-${settings.index}`;

/* Shared by the HTTP backends (Open edX, Moodle): one call, its failures as LmsCallError. */

/** The longest wait a Retry-After may ask for; a longer one is cut to this. */
export const RETRY_AFTER_MAX_MS = 10 * 60_000;
/** How much of an LMS's own message an error keeps. */
const LMS_MESSAGE_MAX_CHARS = 500;

/** Retry-After as seconds or an HTTP date, in ms from `now` (0 to 10 minutes); null if absent. */
export const parseRetryAfter = (value: string | null, now = Date.now()): number | null => {
  const text = value?.trim() ?? '';
  if (text === '') return null;
  const ms = /^\d+$/.test(text) ? Number(text) * 1_000 : Date.parse(text) - now;
  return Number.isNaN(ms) ? null : Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
};

/** Never lets the token out, wherever an LMS or the network stack echoed it. */
export const withoutToken = (settings: LmsBackendSettings, text: string): string =>
  settings.apiToken === '' ? text : text.split(settings.apiToken).join('***');

/** An LMS's own words: `message` (Open edX), `detail` (DRF) or the text, cut to 500 characters. */
export const lmsMessage = (body: string): string => {
  let message = body;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const { message: said, detail } = parsed as { message?: unknown; detail?: unknown };
      if (typeof said === 'string') message = said;
      else if (typeof detail === 'string') message = detail;
    }
  } catch {
    // plain text
  }
  message = message.trim();
  return message.length > LMS_MESSAGE_MAX_CHARS
    ? `${message.slice(0, LMS_MESSAGE_MAX_CHARS)}…`
    : message;
};

export interface LmsRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Names the call in messages, e.g. "GET enrollment": never the URL, which may hold a token. */
  what: string;
}

export interface LmsAnswer {
  status: number;
  body: string;
}

/**
 * The signal of one call: aborted by its timeout or by the caller's signal. Not
 * AbortSignal.any(AbortSignal.timeout(…), signal): on Node 20 the caller's long-lived signal keeps
 * every signal combined with it (nodejs/node#55351; 400 000 calls kept 400 000), a leak in a
 * mirror that runs for months. `done` unhooks it once the call is over.
 */
const callSignal = (timeoutMs: number, signal: AbortSignal | undefined) => {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
};

/** Why fetch failed: the caller's abort, our timeout or the network (with its error code). */
const networkFailure = (
  settings: LmsBackendSettings,
  what: string,
  error: unknown,
  timedOut: boolean,
  signal: AbortSignal | undefined,
): LmsCallError => {
  const prefix = `${backendName(settings)}: ${what}`;
  if (signal?.aborted) return new LmsCallError(`${prefix} was aborted`, true, null);
  if (timedOut)
    return new LmsCallError(`${prefix} timed out after ${settings.timeoutMs} ms`, true, null);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : String(cause?.message ?? error);
  return new LmsCallError(withoutToken(settings, `${prefix} failed: ${detail}`), true, null);
};

/** A 2xx answer, or an LmsCallError: 429 and 5xx retryable, every other status not. */
const checkStatus = (
  settings: LmsBackendSettings,
  what: string,
  response: Response,
  body: string,
) => {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  const retryable = status === 429 || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(response.headers.get('retry-after')) : null;
  const said = lmsMessage(body);
  const redirect =
    status >= 300 && status < 400 ? ' (redirects are not followed: check BASE_URL)' : '';
  const message = `${backendName(settings)}: ${what} answered ${status}${redirect}${said ? `: ${said}` : ''}`;
  throw new LmsCallError(withoutToken(settings, message), retryable, status, retryAfterMs);
};

/**
 * One HTTP call to an LMS, within the backend's timeout and the caller's signal. Redirects are
 * not followed: a POST would turn into a GET and the key header could go to another host.
 */
export const sendLmsRequest = async (
  settings: LmsBackendSettings,
  request: LmsRequest,
  signal?: AbortSignal,
): Promise<LmsAnswer> => {
  const call = callSignal(settings.timeoutMs, signal);
  let response: Response;
  let body: string;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ?? null,
      redirect: 'manual',
      signal: call.signal,
    });
    body = await response.text();
  } catch (error) {
    throw networkFailure(settings, request.what, error, call.timedOut(), signal);
  } finally {
    call.done();
  }
  checkStatus(settings, request.what, response, body);
  return { status: response.status, body };
};

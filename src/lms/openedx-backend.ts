import {
  backendName,
  LmsAnswer,
  LmsBackend,
  LmsBackendSettings,
  LmsCallError,
  LmsLearner,
  sendLmsRequest,
} from './lms-backend';

/**
 * A path segment encoded, but with `:`, `+` and `@` left as they are: they are legal in a path
 * (RFC 3986 pchar), Django decodes them either way, and `course-v1:edx+000001+Demo_Course` stays
 * readable in the LMS's logs. `,` (the separator of username and course id) is encoded.
 */
export const openEdxPathSegment = (value: string): string =>
  encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%2B/gi, '+').replace(/%40/gi, '@');

/** Open edX's enrollment API (openedx/core/djangoapps/enrollments/views.py), as Joanie calls it. */
export class OpenEdxBackend implements LmsBackend {
  private readonly apiUrl: string;

  constructor(readonly settings: LmsBackendSettings) {
    this.apiUrl = `${settings.baseUrl.replace(/\/+$/, '')}/api/enrollment/v1/enrollment`;
  }

  /** 200 with `null` (or nothing, or `{}`) when there is no enrollment, else the enrollment. */
  async isEnrolled(learner: LmsLearner, courseId: string, signal?: AbortSignal): Promise<boolean> {
    const path = `${openEdxPathSegment(learner.username)},${openEdxPathSegment(courseId)}`;
    const what = 'GET enrollment';
    const answer = await sendLmsRequest(
      this.settings,
      {
        method: 'GET',
        url: `${this.apiUrl}/${path}`,
        headers: { Accept: 'application/json', 'X-Edx-Api-Key': this.settings.apiToken },
        what,
      },
      signal,
    );
    const enrollment = this.parse(answer, what);
    return enrollment !== null && enrollment.is_active === true;
  }

  /** Creates, reactivates or deactivates the enrollment; Open edX answers with it. */
  async setEnrolled(
    learner: LmsLearner,
    courseId: string,
    active: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const what = 'POST enrollment';
    const body = {
      user: learner.username,
      mode: this.settings.mode,
      is_active: active,
      course_details: { course_id: courseId },
    };
    const answer = await sendLmsRequest(
      this.settings,
      {
        method: 'POST',
        url: this.apiUrl,
        headers: {
          Accept: 'application/json',
          'Content-Type': 'application/json',
          'X-Edx-Api-Key': this.settings.apiToken,
        },
        body: JSON.stringify(body),
        what,
      },
      signal,
    );
    const enrollment = this.parse(answer, what);
    if (enrollment?.is_active !== active)
      throw new LmsCallError(
        `${backendName(this.settings)}: ${what} answered is_active ` +
          `${String(enrollment?.is_active)} where ${String(active)} was asked`,
        false,
        answer.status,
      );
  }

  /** The enrollment of a 2xx answer, or null for none. */
  private parse({ status, body }: LmsAnswer, what: string): { is_active?: unknown } | null {
    if (body.trim() === '') return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (parsed === null) return null;
    if (typeof parsed === 'object' && !Array.isArray(parsed))
      return Object.keys(parsed).length === 0 ? null : parsed;
    throw new LmsCallError(
      `${backendName(this.settings)}: ${what} answered something other than an enrollment`,
      false,
      status,
    );
  }
}

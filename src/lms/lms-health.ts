import { LmsCallError } from './lms-backend';

const WINDOW_MS = 5 * 60_000;

interface CallRecord {
  at: number;
  ok: boolean;
}

export interface LmsHealthView {
  /**
   * `up` when the last call was answered, `down` when the last five were not (network errors,
   * timeouts, 5xx, 429), `degraded` otherwise.
   */
  status: 'unknown' | 'up' | 'degraded' | 'down';
  callsLastFiveMinutes: number;
  failuresLastFiveMinutes: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: { status: number | null; message: string } | null;
}

/** What this instance saw of each LMS in its last five minutes of calls. */
export class LmsHealth {
  private readonly calls = new Map<string, CallRecord[]>();
  private readonly last = new Map<
    string,
    { successAt: number | null; failureAt: number | null; error: LmsHealthView['lastError'] }
  >();

  succeeded(lms: string, now: number): void {
    this.record(lms, now, true);
    this.entry(lms).successAt = now;
  }

  /** A refusal (4xx) shows an LMS that answers: only what may pass on retry counts against it. */
  failed(lms: string, now: number, error: LmsCallError): void {
    this.record(lms, now, !error.retryable);
    const entry = this.entry(lms);
    entry.failureAt = now;
    entry.error = { status: error.status, message: error.message };
  }

  view(lms: string, now: number): LmsHealthView {
    const recent = this.recent(lms, now);
    const failures = recent.filter((call) => !call.ok).length;
    const entry = this.last.get(lms);
    const lastFive = recent.slice(-5);
    const status =
      recent.length === 0
        ? 'unknown'
        : recent[recent.length - 1]?.ok
          ? 'up'
          : lastFive.length === 5 && lastFive.every((call) => !call.ok)
            ? 'down'
            : 'degraded';
    return {
      status,
      callsLastFiveMinutes: recent.length,
      failuresLastFiveMinutes: failures,
      lastSuccessAt: entry?.successAt ? new Date(entry.successAt).toISOString() : null,
      lastFailureAt: entry?.failureAt ? new Date(entry.failureAt).toISOString() : null,
      lastError: entry?.error ?? null,
    };
  }

  private entry(lms: string) {
    let entry = this.last.get(lms);
    if (!entry) {
      entry = { successAt: null, failureAt: null, error: null };
      this.last.set(lms, entry);
    }
    return entry;
  }

  private record(lms: string, now: number, ok: boolean): void {
    const recent = this.recent(lms, now);
    recent.push({ at: now, ok });
    this.calls.set(lms, recent);
  }

  private recent(lms: string, now: number): CallRecord[] {
    return (this.calls.get(lms) ?? []).filter((call) => call.at > now - WINDOW_MS);
  }
}

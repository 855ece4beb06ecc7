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

interface LmsRecord {
  /** In the order made: the oldest are dropped from the front as they leave the window. */
  calls: CallRecord[];
  successAt: number | null;
  failureAt: number | null;
  error: LmsHealthView['lastError'];
}

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

/** What this instance saw of each LMS in its last five minutes of calls. */
export class LmsHealth {
  private readonly records = new Map<string, LmsRecord>();

  succeeded(lms: string, now: number): void {
    this.record(lms, now, true).successAt = now;
  }

  /** A refusal (4xx) shows an LMS that answers: only what may pass on retry counts against it. */
  failed(lms: string, now: number, error: LmsCallError): void {
    const record = this.record(lms, now, !error.retryable);
    record.failureAt = now;
    record.error = { status: error.status, message: error.message };
  }

  view(lms: string, now: number): LmsHealthView {
    const record = this.records.get(lms);
    const recent = (record?.calls ?? []).filter((call) => call.at > now - WINDOW_MS);
    const failures = recent.filter((call) => !call.ok).length;
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
      lastSuccessAt: iso(record?.successAt ?? null),
      lastFailureAt: iso(record?.failureAt ?? null),
      lastError: record?.error ?? null,
    };
  }

  /** Notes a call; runs on every LMS call, so it only trims the front instead of filtering all. */
  private record(lms: string, now: number, ok: boolean): LmsRecord {
    let record = this.records.get(lms);
    if (!record) {
      record = { calls: [], successAt: null, failureAt: null, error: null };
      this.records.set(lms, record);
    }
    const expired = record.calls.findIndex((call) => call.at > now - WINDOW_MS);
    if (expired !== 0) record.calls.splice(0, expired === -1 ? record.calls.length : expired);
    record.calls.push({ at: now, ok });
    return record;
  }
}

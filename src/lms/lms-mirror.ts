import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  claimDueTargets,
  LMS_MIRROR_READ_MODEL,
  MirrorTarget,
  nextDueAt,
  releaseLeasesOf,
} from '../../projections/lms-mirror/lms-mirror.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { HUB_CONFIG, HubConfig, LmsConfig } from '../config/hub-config';
import { WakeSignal } from '../coordination/wake-signal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { EVENT_STORE, EventStore, Position } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { LmsCallError } from './lms-backend';
import { LmsBackends } from './lms-backends';
import { LmsLearners } from './lms-learners';
import {
  LmsEnrollmentMirrored,
  LmsEnrollmentMirrorFailed,
  lmsMirrorStream,
} from './lms-mirror.events';
import { retryDelayMs } from './retry-delay';

const IDLE_POLL_MS = 500;
const UNCONFIRMED_PER_SLOT = 4;
const PACE_CHECK_MS = 2_000;

type Outcome =
  | { type: 'LmsEnrollmentMirrored'; data: LmsEnrollmentMirrored['data'] }
  | { type: 'LmsEnrollmentMirrorFailed'; data: LmsEnrollmentMirrorFailed['data'] };

/**
 * The process manager that makes each LMS agree with the hub. The lms-mirror read model says,
 * per learner and LMS course run, what the hub wants there; this loop leases due pairs (several
 * instances share them, never the same one at once), reads the LMS's enrolment, writes it when it
 * differs, and records the outcome as an event. Only the newest desired state is ever sent: a
 * pair whose wish changed while a call was out falls due again with the new one.
 */
@Injectable()
export class LmsMirror implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('LmsMirror');
  private readonly owner = `lms-${randomUUID()}`;
  private readonly abort = new AbortController();
  private readonly wake = new WakeSignal();
  private readonly settings: LmsConfig;
  private inFlight = 0;
  private claims = 0;
  /** Outcomes appended since the read model was last seen to have applied them, and the last. */
  private unconfirmed = 0;
  private lastOutcome: Position | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly projections: ProjectionEngine,
    private readonly backends: LmsBackends,
    private readonly learners: LmsLearners,
  ) {
    this.settings = config.lms;
    // Every call in flight listens for the stop signal.
    setMaxListeners(this.settings.concurrency * 2 + 10, this.abort.signal);
  }

  onApplicationBootstrap(): void {
    if (this.settings.backends.length > 0 && this.settings.concurrency > 0) this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await releaseLeasesOf(this.db, this.owner).catch(() => undefined);
  }

  /** Look now rather than at the next poll (this instance recorded something to mirror). */
  nudge(): void {
    this.wake.notify();
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const running = new Set<Promise<void>>();
    while (!signal.aborted) {
      if (!(await this.caughtUpWithReadModel())) continue;
      const seen = this.wake.generation;
      const room = this.settings.concurrency - this.inFlight;
      const claimed = room > 0 ? await this.claim(room) : [];
      for (const target of claimed) {
        const work = this.mirrorAndRelease(target).finally(() => {
          running.delete(work);
          this.wake.notify();
        });
        running.add(work);
      }
      if (claimed.length === room && room > 0) continue;
      await this.wake.wait(seen, await this.idleDelay(), signal);
    }
    await Promise.allSettled(running);
  }

  private async claim(limit: number): Promise<MirrorTarget[]> {
    const now = this.clock.now();
    try {
      this.claims++;
      return await claimDueTargets(
        this.db,
        `${this.owner}:${this.claims}`,
        now,
        new Date(now.getTime() + this.settings.leaseMs),
        limit,
      );
    } catch (error) {
      if (!this.abort.signal.aborted)
        this.logger.warn(`Claiming LMS work failed: ${String(error)}`);
      return [];
    }
  }

  /** Until the next pair falls due, but never longer than the idle poll (another instance may add). */
  private async idleDelay(): Promise<number> {
    const next = await nextDueAt(this.db).catch(() => null);
    if (next === null) return IDLE_POLL_MS;
    return Math.max(10, Math.min(IDLE_POLL_MS, next.getTime() - this.clock.now().getTime()));
  }

  /**
   * Mirrors one pair and records the outcome. The lease holds until the read model applies the
   * outcome (its handler hands the pair back), so no instance repeats the call meanwhile.
   */
  private async mirrorAndRelease(target: MirrorTarget): Promise<void> {
    this.inFlight++;
    try {
      const outcome = await this.mirror(target);
      if (outcome === null) return;
      const appended = await this.store.appendToStream(
        lmsMirrorStream(target.userId, target.resourceLink),
        [{ id: randomUUID(), ...outcome, metadata: { principal: 'lms-mirror' } }],
      );
      this.lastOutcome = appended.position;
      this.unconfirmed++;
    } catch (error) {
      if (!this.abort.signal.aborted)
        this.logger.error(`Mirroring ${target.userId} to ${target.resourceLink}: ${String(error)}`);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Claims no more once many outcomes wait for the read model: a projection far behind would
   * hold leases past their end, and another instance would read those pairs again. False while
   * they still wait, so the loop looks again (and notices a stop in between).
   */
  private async caughtUpWithReadModel(): Promise<boolean> {
    const position = this.lastOutcome;
    if (position === null || this.unconfirmed < UNCONFIRMED_PER_SLOT * this.settings.concurrency)
      return true;
    if (!(await this.projections.awaitApplied(LMS_MIRROR_READ_MODEL, position, PACE_CHECK_MS)))
      return false;
    this.unconfirmed = 0;
    return true;
  }

  /** Reads, and writes when it differs; null when the instance is stopping mid-call. */
  private async mirror(target: MirrorTarget): Promise<Outcome | null> {
    const attempt = target.attempts + 1;
    const selected = this.backends.select(target.resourceLink);
    if (!selected)
      return this.failure(target, attempt, null, {
        message: `No LMS in LMS_BACKENDS matches the resource link ${target.resourceLink}`,
      });
    const { name: lms, backend } = selected;
    const learner = await this.learners.learnerOf(target.userId);
    const where = { lms, lmsCourseId: selected.courseId };
    if (!learner)
      return this.failure(target, attempt, where, {
        message: `User ${target.userId} has no ${this.learners.usernameField} to use as LMS username`,
      });
    try {
      const enrolled = await backend.isEnrolled(learner, selected.courseId, this.abort.signal);
      const changed = enrolled !== target.desiredActive;
      if (changed)
        await backend.setEnrolled(
          learner,
          selected.courseId,
          target.desiredActive,
          this.abort.signal,
        );
      this.backends.health.succeeded(lms, this.clock.now().getTime());
      return {
        type: 'LmsEnrollmentMirrored',
        data: {
          ...this.targetKey(target),
          ...where,
          active: target.desiredActive,
          changed,
          calls: changed ? 2 : 1,
          attempt,
          mirroredAt: this.clock.now().toISOString(),
        },
      };
    } catch (error) {
      if (this.abort.signal.aborted) return null;
      const failure =
        error instanceof LmsCallError ? error : new LmsCallError(String(error), true, null);
      this.backends.health.failed(lms, this.clock.now().getTime(), failure);
      // The LMS may name the user in its message (Open edX's 406): the log must not keep it.
      const message = failure.message.replaceAll(learner.username, '‹username›');
      return this.failure(target, attempt, where, {
        message,
        retryable: failure.retryable,
        status: failure.status,
        retryAfterMs: failure.retryAfterMs,
      });
    }
  }

  private failure(
    target: MirrorTarget,
    attempt: number,
    where: { lms: string; lmsCourseId: string } | null,
    error: {
      message: string;
      retryable?: boolean;
      status?: number | null;
      retryAfterMs?: number | null;
    },
  ): Outcome {
    const now = this.clock.now();
    const retry = (error.retryable ?? false) && attempt < this.settings.maxAttempts;
    const delay = retryDelayMs(attempt, error.retryAfterMs ?? null, {
      baseMs: this.settings.retryBaseMs,
      maxMs: this.settings.retryMaxMs,
    });
    return {
      type: 'LmsEnrollmentMirrorFailed',
      data: {
        ...this.targetKey(target),
        lms: where?.lms ?? null,
        lmsCourseId: where?.lmsCourseId ?? null,
        active: target.desiredActive,
        status: error.status ?? null,
        message: error.message.slice(0, 1_000),
        attempt,
        nextAttemptAt: retry ? new Date(now.getTime() + delay).toISOString() : null,
        failedAt: now.toISOString(),
      },
    };
  }

  private targetKey(target: MirrorTarget) {
    return {
      userId: target.userId,
      resourceLink: target.resourceLink,
      desiredVersion: target.desiredVersion,
      lease: target.lease,
    };
  }
}

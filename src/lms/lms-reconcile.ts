import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import {
  LearnerMirrorState,
  listBatchMirrorStates,
  readBatchMirrorLink,
} from '../../projections/lms-mirror/lms-mirror.query';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { runConcurrently } from '../jobs/run-concurrently';
import { Job, JobContext, JobHandler, PermanentJobError } from '../jobs/job';
import { JobRunner } from '../jobs/job-runner';
import { CLOCK, Clock } from '../time/clock';
import { LmsCallError } from './lms-backend';
import { LmsBackends, SelectedLms } from './lms-backends';
import { LmsLearners } from './lms-learners';
import { requestMirror } from './mirror-requests';

export const LMS_RECONCILE_JOB = 'lms-reconcile';
const PAGE = 500;
const CONCURRENCY = 8;
/** Drifted learners the result lists by name; the count covers all. */
const LISTED = 1_000;

export interface LmsReconcilePayload {
  batchId: string;
  fix: boolean;
}

export interface LearnerDrift {
  userId: string;
  /** What the hub wants there. */
  hub: boolean;
  /** What the LMS holds; null when it could not be read. */
  lms: boolean | null;
  error?: string;
}

const isPayload = (value: unknown): value is LmsReconcilePayload =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as LmsReconcilePayload).batchId === 'string' &&
  typeof (value as LmsReconcilePayload).fix === 'boolean';

/**
 * `lms reconcile`: reads every learner of a batch from its LMS, compares with what the hub
 * wants there, and with `fix` mirrors the ones that drifted again (through the mirror, so the
 * correction is durable and retried like any other change).
 */
@Injectable()
export class LmsReconcileJob implements JobHandler, OnModuleInit {
  readonly kind = LMS_RECONCILE_JOB;
  readonly maxAttempts = 3;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly runner: JobRunner,
    private readonly backends: LmsBackends,
    private readonly learners: LmsLearners,
  ) {}

  onModuleInit(): void {
    this.runner.register(this);
  }

  async run(job: Job, context: JobContext): Promise<unknown> {
    if (!isPayload(job.payload)) throw new PermanentJobError('The reconcile request is malformed');
    const { batchId, fix } = job.payload;
    const batch = await readBatchMirrorLink(this.db, batchId);
    if (!batch?.resourceLink)
      throw new PermanentJobError(`Batch ${batchId} is not mirrored to an LMS`);
    const lms = this.backends.select(batch.resourceLink);
    if (!lms) throw new PermanentJobError(`No LMS in LMS_BACKENDS matches ${batch.resourceLink}`);
    const drift: LearnerDrift[] = [];
    let checked = 0;
    let drifted = 0;
    let unreadable = 0;
    for (let after: string | null = null; !context.signal.aborted;) {
      const page = await listBatchMirrorStates(this.db, batch, {
        afterUserId: after,
        userId: null,
        limit: PAGE,
      });
      if (page.length === 0) break;
      const found = await this.comparePage(page, lms, context.signal);
      for (const entry of found) {
        if (entry.lms === null) unreadable++;
        else drifted++;
        if (drift.length < LISTED) drift.push(entry);
      }
      if (fix)
        await this.remirror(
          batchId,
          found.filter((entry) => entry.lms !== null),
          job,
        );
      checked += page.length;
      after = page[page.length - 1]?.userId ?? null;
      await context.reportProgress(checked, Math.max(checked, job.progress.total ?? 0));
    }
    await context.reportProgress(checked, checked);
    return {
      batchId,
      lms: lms.name,
      lmsCourseId: lms.courseId,
      checked,
      drifted,
      unreadable,
      fixed: fix ? drifted : 0,
      drift,
    };
  }

  private async comparePage(
    page: readonly LearnerMirrorState[],
    lms: SelectedLms,
    signal: AbortSignal,
  ): Promise<LearnerDrift[]> {
    const found: LearnerDrift[] = [];
    const identities = await this.learners.learnersOf(page.map((learner) => learner.userId));
    await runConcurrently(page, CONCURRENCY, async (learner) => {
      const hub = learner.desiredActive ?? false;
      const identity = identities.get(learner.userId);
      if (!identity) {
        if (hub) found.push({ userId: learner.userId, hub, lms: null, error: 'no LMS username' });
        return;
      }
      try {
        const held = await lms.backend.isEnrolled(identity, lms.courseId, signal);
        if (held !== hub) found.push({ userId: learner.userId, hub, lms: held });
      } catch (error) {
        const message = error instanceof LmsCallError ? error.message : String(error);
        found.push({ userId: learner.userId, hub, lms: null, error: message });
      }
    });
    return found;
  }

  private async remirror(batchId: string, drifted: readonly LearnerDrift[], job: Job) {
    await requestMirror(
      this.store,
      batchId,
      drifted.map((entry) => entry.userId),
      {
        requestedBy: job.requestedBy,
        requestedAt: this.clock.now(),
        metadata: { principal: job.requestedBy, causationId: job.id },
      },
    );
  }
}

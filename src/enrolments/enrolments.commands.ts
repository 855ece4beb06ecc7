import { learnersAwaitingCertificate } from '../../projections/enrolments/enrolments.query';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { Actor, actorOf, isSystemAdmin, Principal } from '../auth/principal';
import { batchNotFound, canReadBatch } from '../batches/batch.decider';
import { ForbiddenError, HubError } from '../errors/hub-error';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { Position } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { CourseTracking } from './course-tracking';
import {
  actsForThemself,
  BatchFacts,
  contentUpdateIssues,
  managesBatch,
  refuseContentUpdates,
  scoreTotals,
} from './enrolment.decider';
import { AssessmentScore, ScorePolicy } from './enrolment.events';
import { EnrolmentLookups } from './enrolment-lookups';
import { EnrolmentOutcome, EnrolmentWriter } from './enrolment-writer';
import { RecordAssessmentRequest, RecordProgressRequest } from './enrolments.dto';
import { runConcurrently } from '../jobs/run-concurrently';

/** Clocks drift: a last-access time this far ahead of the hub's clock is still accepted. */

export class EnrolCommand extends Command<void> {
  constructor(
    readonly batchId: string,
    readonly userId: string,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class UnenrolCommand extends Command<void> {
  constructor(
    readonly batchId: string,
    readonly userId: string,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class RecordProgressCommand extends Command<ProgressResults> {
  constructor(
    readonly batchId: string,
    readonly request: RecordProgressRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class RecordAssessmentCommand extends Command<AssessmentResult> {
  constructor(
    readonly batchId: string,
    readonly request: RecordAssessmentRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class IssueCertificatesCommand extends Command<CertificateRun> {
  constructor(
    readonly batchId: string,
    readonly userIds: string[] | undefined,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

/** The learner's standing after a write, straight from the write model. */
export interface EnrolmentStanding {
  userId: string;
  changed: boolean;
  active: boolean;
  status: 0 | 1 | 2;
  progressPercent: number;
  completedOn: string | null;
  totalScore: number;
  totalMaxScore: number;
  certificateStatus: 'Issued' | 'Failed' | null;
}

export interface ProgressResults {
  results: (EnrolmentStanding | { userId: string; error: { code: string; detail: string } })[];
  failed: number;
}

export interface AssessmentResult extends EnrolmentStanding {
  contentId: string;
  attemptId: string;
  assessment: AssessmentScore | null;
}

export interface CertificateRun {
  considered: number;
  issued: number;
  failed: number;
  unchanged: number;
}

const standing = (
  userId: string,
  outcome: EnrolmentOutcome,
  policy: ScorePolicy,
): EnrolmentStanding => {
  const { state } = outcome;
  if (!state.exists) throw new Error('An enrolment command left no enrolment');
  const totals = scoreTotals(state.attempts, policy);
  return {
    userId,
    changed: outcome.events.length > 0,
    active: state.active,
    status: state.completedOn ? 2 : Object.keys(state.contents).length > 0 ? 1 : 0,
    progressPercent: state.completedOn ? 100 : (state.progress?.percent ?? 0),
    completedOn: state.completedOn,
    totalScore: totals.totalScore,
    totalMaxScore: totals.totalMaxScore,
    certificateStatus: state.certificate?.status ?? null,
  };
};

/** The batch as its learners' commands need it; 404 for callers who may not see it. */
const visibleBatch = async (lookups: EnrolmentLookups, batchId: string, actor: Actor) => {
  const batch = await lookups.batch(batchId);
  if (!batch || !canReadBatch(actor, batch)) throw batchNotFound(batchId);
  return batch;
};

@CommandHandler(EnrolCommand)
export class EnrolHandler implements ICommandHandler<EnrolCommand, void> {
  constructor(
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ batchId, userId, principal, requestId }: EnrolCommand): Promise<void> {
    const actor = actorOf(principal);
    const learner = (await this.lookups.learners([userId])).get(userId) ?? null;
    const batch = await this.lookups.batch(batchId);
    const outcome = await this.writer.execute(
      {
        type: 'Enrol',
        actor,
        now: this.clock.now(),
        batchId,
        batch,
        userId,
        learner,
        course: batch && (await this.lookups.course(batch.courseId)),
      },
      actorMetadata(actor, requestId),
    );
    // The answer is the enrolment as its view shows it.
    await this.writer.settle(
      [outcome.appended?.position],
      `/v1/batches/${batchId}/progress/${userId}`,
    );
  }
}

@CommandHandler(UnenrolCommand)
export class UnenrolHandler implements ICommandHandler<UnenrolCommand, void> {
  constructor(
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ batchId, userId, principal, requestId }: UnenrolCommand): Promise<void> {
    const actor = actorOf(principal);
    const outcome = await this.writer.execute(
      {
        type: 'Unenrol',
        actor,
        now: this.clock.now(),
        batchId,
        batch: await this.lookups.batch(batchId),
        userId,
        learner: (await this.lookups.learners([userId])).get(userId) ?? null,
      },
      actorMetadata(actor, requestId),
    );
    await this.writer.settle([outcome.appended?.position]);
  }
}

@CommandHandler(RecordProgressCommand)
export class RecordProgressHandler implements ICommandHandler<
  RecordProgressCommand,
  ProgressResults
> {
  constructor(
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({
    batchId,
    request,
    principal,
    requestId,
  }: RecordProgressCommand): Promise<ProgressResults> {
    const actor = actorOf(principal);
    const now = this.clock.now();
    const batch = await visibleBatch(this.lookups, batchId, actor);
    const course = await this.lookups.course(batch.courseId);
    // Whatever the request gets wrong in itself refuses all of it, before anything is written.
    const issues = contentUpdateIssues(course, request.contents, now);
    if (issues.length > 0) refuseContentUpdates(issues);
    const byUser = new Map<string, RecordProgressRequest['contents']>();
    for (const update of request.contents) {
      const userId = update.userId ?? actor.userId;
      byUser.set(userId, [...(byUser.get(userId) ?? []), update]);
    }
    // A system principal records for anyone: whose profile is whose does not matter then.
    const learners = isSystemAdmin(actor)
      ? new Map<string, { organisationId: string }>()
      : await this.lookups.learners([...byUser.keys()]);
    const forThemself = (userId: string) =>
      actsForThemself({ actor, userId, learner: learners.get(userId) ?? null });
    if (!isSystemAdmin(actor) && [...byUser.keys()].some((userId) => !forThemself(userId)))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Progress is recorded by the learner or by a system principal on their behalf',
      );
    const metadata = actorMetadata(actor, requestId);
    const policy = this.lookups.scorePolicy;
    const single = byUser.size === 1;
    const positions: (Position | undefined)[] = [];
    const results = await Promise.all(
      [...byUser].map(async ([userId, updates]) => {
        try {
          const outcome = await this.writer.execute(
            {
              type: 'RecordProgress',
              actor,
              now,
              batchId,
              batch,
              userId,
              learner: learners.get(userId) ?? null,
              course,
              policy,
              contents: updates.map(({ contentId, status, lastAccessTime }) => ({
                contentId,
                status,
                lastAccessTime,
              })),
            },
            metadata,
          );
          positions.push(outcome.appended?.position);
          return standing(userId, outcome, policy);
        } catch (error) {
          if (single || !(error instanceof HubError)) throw error;
          return { userId, error: { code: error.code, detail: error.message } };
        }
      }),
    );
    // A learner's own request reads its writes in every list. A system principal syncing many
    // learners at once does not wait for the lists (they follow within about a second); each
    // learner's progress read is always current, as it comes from the enrolment's stream.
    if (single) await this.writer.settle(positions);
    return { results, failed: results.filter((result) => 'error' in result).length };
  }
}

@CommandHandler(RecordAssessmentCommand)
export class RecordAssessmentHandler implements ICommandHandler<
  RecordAssessmentCommand,
  AssessmentResult
> {
  constructor(
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({
    batchId,
    request,
    principal,
    requestId,
  }: RecordAssessmentCommand): Promise<AssessmentResult> {
    const actor = actorOf(principal);
    const now = this.clock.now();
    const batch = await visibleBatch(this.lookups, batchId, actor);
    const course = await this.lookups.course(batch.courseId);
    const userId = request.userId ?? actor.userId;
    const policy = this.lookups.scorePolicy;
    const outcome = await this.writer.execute(
      {
        type: 'RecordAssessmentAttempt',
        actor,
        now,
        batchId,
        batch,
        userId,
        learner: (await this.lookups.learners([userId])).get(userId) ?? null,
        course,
        policy,
        contentId: request.contentId,
        attemptId: request.attemptId,
        submittedAt: new Date(request.submittedAt).toISOString(),
        responses: request.responses.map((response) => ({
          questionId: response.questionId,
          type: response.type,
          title: response.title ?? '',
          options: response.options ?? [],
          response: response.response ?? null,
          score: response.score,
          maxScore: response.maxScore ?? null,
          duration: response.duration ?? 0,
          answeredAt:
            response.answeredAt === undefined ? null : new Date(response.answeredAt).toISOString(),
        })),
      },
      actorMetadata(actor, requestId),
    );
    await this.writer.settle([outcome.appended?.position]);
    const { state } = outcome;
    const totals = state.exists ? scoreTotals(state.attempts, policy) : null;
    return {
      ...standing(userId, outcome, policy),
      contentId: request.contentId,
      attemptId: request.attemptId,
      assessment: totals?.assessments.find((a) => a.contentId === request.contentId) ?? null,
    };
  }
}

@CommandHandler(IssueCertificatesCommand)
export class IssueCertificatesHandler implements ICommandHandler<
  IssueCertificatesCommand,
  CertificateRun
> {
  constructor(
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  async execute({
    batchId,
    userIds,
    principal,
    requestId,
  }: IssueCertificatesCommand): Promise<CertificateRun> {
    const actor = actorOf(principal);
    const batch = await visibleBatch(this.lookups, batchId, actor);
    if (!managesBatch(actor, batch))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Only the batch’s creator, its mentors or an admin issue certificates',
      );
    const course = await this.lookups.course(batch.courseId);
    const learners = userIds ?? (await this.awaitingCertificate(batch));
    const run: CertificateRun = { considered: learners.length, issued: 0, failed: 0, unchanged: 0 };
    const positions: (Position | undefined)[] = [];
    await runConcurrently(learners, 16, async (userId) => {
      const outcome = await this.issue(batch, course, userId, actor, requestId);
      positions.push(outcome.appended?.position);
      const event = outcome.events.at(-1)?.type;
      if (event === 'CertificateIssued') run.issued++;
      else if (event === 'CertificateIssueFailed') run.failed++;
      else run.unchanged++;
    });
    await this.writer.settle(positions);
    return run;
  }

  private issue(
    batch: BatchFacts,
    course: CourseTracking,
    userId: string,
    actor: Actor,
    requestId: string,
  ): Promise<EnrolmentOutcome> {
    return this.writer.issueCertificate(
      { batchId: batch.batchId, batch, userId, course, policy: this.lookups.scorePolicy, actor },
      actorMetadata(actor, requestId),
    );
  }

  /** Learners who completed the course and hold no certificate yet (or whose issue failed). */
  private awaitingCertificate(batch: BatchFacts): Promise<string[]> {
    return learnersAwaitingCertificate(
      this.db,
      batch.batchId,
      batch.certificateCriteria.minCompletionPercent,
    );
  }
}

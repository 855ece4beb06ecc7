import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Inject } from '@nestjs/common';
import { readBatch } from '../../projections/batch-status/batch-status.query';
import {
  BatchMirrorLink,
  batchMirrorSummary,
  listBatchMirrorStates,
  readBatchMirrorLink,
} from '../../projections/lms-mirror/lms-mirror.query';
import { CurrentPrincipal } from '../auth/auth.guard';
import { actorOf, hasRole, isAdminOf, Principal } from '../auth/principal';
import { batchNotFound } from '../batches/batch.decider';
import { managesBatch } from '../enrolments/enrolment.decider';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ApiProblems } from '../errors/api-problems';
import { ConflictError, ForbiddenError } from '../errors/hub-error';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { IdParam, RequestId } from '../http/request-context';
import { Jobs } from '../jobs/jobs';
import { JobView, toJobView } from '../jobs/jobs.dto';
import { CLOCK, Clock } from '../time/clock';
import { publicView } from './lms-selection';
import { LmsBackends } from './lms-backends';
import { LmsLearners } from './lms-learners';
import { LmsMirror } from './lms-mirror';
import { requestMirror } from './mirror-requests';
import { LMS_RECONCILE_JOB, LmsReconcilePayload } from './lms-reconcile';
import {
  LmsBackendsView,
  LmsReconcileRequest,
  LmsResyncRequest,
  LmsResyncView,
  LmsSyncQuery,
  LmsSyncView,
} from './lms.dto';

const notMirrored = (batchId: string) =>
  new ConflictError(
    'BATCH_NOT_MIRRORED',
    `Batch ${batchId} has no LMS resource link, nor has its course`,
    { batchId },
  );

@ApiTags('lms')
@ApiBearerAuth()
@Controller('v1')
export class LmsController {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly backends: LmsBackends,
    private readonly learners: LmsLearners,
    private readonly mirror: LmsMirror,
    private readonly jobs: Jobs,
  ) {}

  @Get('lms')
  @ApiOperation({ summary: 'The configured LMSs (no secrets) and their health (admins)' })
  @ApiOkResponse({ type: LmsBackendsView })
  @ApiProblems({ 403: ['UNAUTHORIZED_USER'] })
  list(@CurrentPrincipal() principal: Principal): LmsBackendsView {
    if (!hasRole(principal, 'ORG_ADMIN', 'SYSTEM_ADMIN'))
      throw new ForbiddenError('UNAUTHORIZED_USER', 'Only admins see the LMS configuration');
    const now = this.clock.now().getTime();
    return {
      usernameField: this.learners.usernameField,
      backends: this.backends.settings.map((settings) => {
        const view = publicView(settings);
        return { ...view, health: this.backends.health.view(view.name, now) };
      }),
    };
  }

  @Get('batches/:batchId/lms-sync')
  @ApiOperation({
    summary: 'Per learner: the desired and the last mirrored LMS state, attempts, last error',
  })
  @ApiOkResponse({ type: LmsSyncView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'VALIDATION_FAILED'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
  })
  async sync(
    @IdParam('batchId') batchId: string,
    @Query() query: LmsSyncQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LmsSyncView> {
    const batch = await this.managedBatch(batchId, principal);
    const learners = await listBatchMirrorStates(this.db, batch, {
      afterUserId: query.cursor ?? null,
      userId: query.userId ?? null,
      limit: query.limit,
    });
    const selected = batch.resourceLink ? this.backends.select(batch.resourceLink) : null;
    const iso = (date: Date | null) => date?.toISOString() ?? null;
    return {
      batchId,
      courseId: batch.courseId,
      resourceLink: batch.resourceLink,
      lms: selected ? { name: selected.name, courseId: selected.courseId } : null,
      summary: await batchMirrorSummary(this.db, batch),
      learners: learners.map((learner) => ({
        userId: learner.userId,
        enrolled: learner.enrolled,
        desiredActive: learner.desiredActive,
        mirroredActive: learner.mirroredActive,
        mirroredAt: iso(learner.mirroredAt),
        pending: learner.pending,
        attempts: learner.attempts,
        lastStatus: learner.lastStatus,
        lastError: learner.lastError,
        lastFailedAt: iso(learner.lastFailedAt),
        nextAttemptAt: iso(learner.nextAttemptAt),
      })),
      nextCursor: learners.length === query.limit ? (learners.at(-1)?.userId ?? null) : null,
    };
  }

  @Post('batches/:batchId/lms-sync')
  @HttpCode(202)
  @ApiOperation({ summary: 'Mirror the batch (or one learner) to its LMS again' })
  @ApiAcceptedResponse({ type: LmsResyncView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'VALIDATION_FAILED'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
    409: ['BATCH_NOT_MIRRORED'],
  })
  async resync(
    @IdParam('batchId') batchId: string,
    @Body() body: LmsResyncRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<LmsResyncView> {
    const batch = await this.managedBatch(batchId, principal);
    if (!batch.resourceLink) throw notMirrored(batchId);
    const [requested] = await requestMirror(this.store, batchId, [body.userId ?? null], {
      requestedBy: principal.userId,
      requestedAt: this.clock.now(),
      metadata: {
        principal: principal.userId,
        tenant: principal.organisationId,
        correlationId: requestId,
      },
    });
    this.mirror.nudge();
    return requested!;
  }

  @Post('batches/:batchId/lms-reconcile')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Read every learner of the batch from its LMS and report drift; with fix, mirror them again (a job)',
  })
  @ApiAcceptedResponse({ type: JobView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'VALIDATION_FAILED'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
    409: ['BATCH_NOT_MIRRORED'],
  })
  async reconcile(
    @IdParam('batchId') batchId: string,
    @Body() body: LmsReconcileRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    const batch = await this.managedBatch(batchId, principal);
    if (!batch.resourceLink) throw notMirrored(batchId);
    const payload: LmsReconcilePayload = { batchId, fix: body.fix ?? false };
    const { learners } = await batchMirrorSummary(this.db, batch);
    const { job } = await this.jobs.enqueue({
      kind: LMS_RECONCILE_JOB,
      organisationId: batch.organisationId,
      requestedBy: principal.userId,
      payload,
      total: learners,
    });
    return toJobView(job);
  }

  /** The batch's mirror link, for those who manage the batch; 404 to other organisations. */
  private async managedBatch(batchId: string, principal: Principal): Promise<BatchMirrorLink> {
    const record = await readBatch(this.db, batchId);
    const actor = actorOf(principal);
    if (
      !record ||
      (actor.organisationId !== record.organisationId && !isAdminOf(actor, record.organisationId))
    )
      throw batchNotFound(batchId);
    if (!managesBatch(actor, record))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Only the batch’s creator, its mentors or an admin see its LMS mirror',
      );
    const link = await readBatchMirrorLink(this.db, batchId);
    return (
      link ?? {
        batchId,
        courseId: record.courseId,
        organisationId: record.organisationId,
        resourceLink: null,
      }
    );
  }
}

import { decodeIdCursor, encodeIdCursor } from '../http/id-cursor';
import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  countParticipants,
  listParticipants,
  listUserEnrolments,
  readEnrolment,
} from '../../projections/enrolments/enrolments.query';
import { CurrentPrincipal } from '../auth/auth.guard';
import { isAdminOf, isSystemAdmin, Principal } from '../auth/principal';
import { batchNotFound, canReadBatch } from '../batches/batch.decider';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ApiProblems } from '../errors/api-problems';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors/hub-error';
import { queryInteger } from '../http/query-params';
import { IdParam, RequestId } from '../http/request-context';
import { userNotFound } from '../users/user.decider';
import { BulkEnrolmentJob, BulkEnrolments, RowFailure } from './bulk-enrolment';
import { BULK_ENROLMENT_BODY, parseBulkUserIds } from './bulk-enrolment-request';
import { actsForThemself, EnrolmentState, managesBatch, scoreTotals } from './enrolment.decider';
import { ScorePolicy } from './enrolment.events';
import { EnrolmentLookups } from './enrolment-lookups';
import { EnrolmentWriter } from './enrolment-writer';
import {
  AssessmentResult,
  CertificateRun,
  EnrolCommand,
  IssueCertificatesCommand,
  ProgressResults,
  RecordAssessmentCommand,
  RecordProgressCommand,
  UnenrolCommand,
} from './enrolments.commands';
import {
  AssessmentResultView,
  BulkEnrolmentJobView,
  BulkFailurePage,
  CertificateRunView,
  EnrolmentProgressView,
  EnrolmentStandingView,
  EnrolmentView,
  EnrolRequest,
  IssueCertificatesRequest,
  ParticipantPage,
  ParticipantsQuery,
  ProgressFailureView,
  ProgressResultsView,
  RecordAssessmentRequest,
  RecordProgressRequest,
  UserEnrolmentsQuery,
  enrolmentView,
  UserEnrolmentsView,
} from './enrolments.dto';

/** An enrolment as lists show it (GET /v1/users/{id}/enrolments, GET /v1/me/enrolments). */
const progressView = (
  enrolment: Extract<EnrolmentState, { exists: true }>,
  policy: ScorePolicy,
): EnrolmentProgressView => {
  const totals = scoreTotals(enrolment.attempts, policy);
  const { certificate, progress, completedOn } = enrolment;
  return {
    batchId: enrolment.batchId,
    courseId: enrolment.courseId,
    userId: enrolment.userId,
    enrolledAt: enrolment.enrolledAt,
    active: enrolment.active,
    status: completedOn ? 2 : Object.keys(enrolment.contents).length > 0 ? 1 : 0,
    progressPercent: completedOn ? 100 : (progress?.percent ?? 0),
    completedCount: progress?.completedCount ?? 0,
    requiredCount: progress?.requiredCount ?? 0,
    completedOn,
    unitProgress: progress?.units ?? {},
    assessments: Object.fromEntries(
      totals.assessments.map(({ contentId, ...counting }) => [contentId, counting]),
    ),
    totalScore: totals.totalScore,
    totalMaxScore: totals.totalMaxScore,
    certificateStatus: certificate?.status ?? null,
    certificate:
      certificate === null
        ? null
        : certificate.status === 'Issued'
          ? {
              status: 'Issued',
              certificateId: certificate.certificateId,
              at: certificate.at,
              failure: null,
            }
          : {
              status: 'Failed',
              certificateId: null,
              at: certificate.at,
              failure: { code: certificate.code, reason: certificate.reason },
            },
    lastAccessTime: enrolment.lastAccessTime,
    lastContentId: enrolment.lastContentId,
    contents: enrolment.contents,
  };
};

const enrolmentNotFound = (batchId: string, userId: string) =>
  new NotFoundError('ENROLMENT_NOT_FOUND', `User ${userId} has no enrolment in batch ${batchId}`, {
    batchId,
    userId,
  });

const IDEMPOTENCY_KEY = /^[\w.:-]{1,128}$/;

@ApiTags('enrolments')
@ApiBearerAuth()
@Controller('v1')
export class EnrolmentsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly lookups: EnrolmentLookups,
    private readonly bulk: BulkEnrolments,
    private readonly writer: EnrolmentWriter,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  @Post('batches/:batchId/enrolments')
  @ApiOperation({
    summary: 'Enrol the caller, or (mentors, the creator, admins) a named user',
  })
  @ApiCreatedResponse({ type: EnrolmentView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER', 'ENROLLMENT_INVITE_ONLY'],
    404: ['BATCH_NOT_FOUND', 'COURSE_NOT_FOUND', 'USER_NOT_FOUND', 'ENROLMENT_NOT_FOUND'],
    409: ['USER_ALREADY_ENROLLED_COURSE'],
    422: [
      'USER_NOT_IN_BATCH_ORGANISATION',
      'COURSE_BATCH_ENROLLMENT_DATE_ENDED',
      'COURSE_BATCH_ALREADY_COMPLETED',
    ],
    503: ['VIEW_BEHIND'],
  })
  async enrol(
    @IdParam('batchId') batchId: string,
    @Body() body: EnrolRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EnrolmentView> {
    const userId = body.userId ?? principal.userId;
    await this.commands.execute(new EnrolCommand(batchId, userId, principal, requestId));
    void reply.header('location', `/v1/batches/${batchId}/progress/${userId}`);
    const row = await readEnrolment(this.db, batchId, userId);
    if (!row) throw enrolmentNotFound(batchId, userId);
    return enrolmentView(row);
  }

  @Delete('batches/:batchId/enrolments/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Unenrol a learner (themself, mentors, the creator, admins)' })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
    409: ['USER_NOT_ENROLLED_COURSE', 'USER_ALREADY_COMPLETED_COURSE'],
    422: ['COURSE_BATCH_ALREADY_COMPLETED'],
  })
  async unenrol(
    @IdParam('batchId') batchId: string,
    @IdParam('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.commands.execute(new UnenrolCommand(batchId, userId, principal, requestId));
  }

  @Post('batches/:batchId/enrolments/bulk')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Enrol up to 100,000 users as a tracked job (JSON {userIds} or a CSV of user ids)',
    requestBody: BULK_ENROLMENT_BODY,
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeating a key returns the job it first created',
  })
  @ApiAcceptedResponse({
    type: BulkEnrolmentJobView,
    description: 'The job, with progress; poll its Location',
  })
  @ApiOkResponse({
    type: BulkEnrolmentJobView,
    description: 'The job an earlier request with this Idempotency-Key created',
  })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_IDEMPOTENCY_KEY', 'INVALID_BULK_REQUEST'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
    409: ['IDEMPOTENCY_KEY_REUSED'],
  })
  async bulkEnrol(
    @IdParam('batchId') batchId: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BulkEnrolmentJob> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey))
      throw new InvalidInputError(
        'Idempotency-Key must be 1-128 letters, digits and . _ : -',
        [{ field: 'Idempotency-Key', message: 'invalid' }],
        'INVALID_IDEMPOTENCY_KEY',
      );
    const userIds = parseBulkUserIds(body, contentType);
    const { job, created } = await this.bulk.submit(batchId, userIds, principal, idempotencyKey);
    void reply.header('location', `/v1/batches/${batchId}/enrolments/bulk/${job.jobId}`);
    if (!created) void reply.status(200);
    return job;
  }

  @Get('batches/:batchId/enrolments/bulk/:jobId')
  @ApiOperation({ summary: 'A bulk enrolment job: status, progress and counts' })
  @ApiOkResponse({ type: BulkEnrolmentJobView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['JOB_NOT_FOUND'] })
  bulkJob(
    @IdParam('batchId') batchId: string,
    @IdParam('jobId') jobId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BulkEnrolmentJob> {
    return this.bulk.read(batchId, jobId, principal);
  }

  @Get('batches/:batchId/enrolments/bulk/:jobId/failures')
  @ApiOperation({ summary: 'The rows a bulk enrolment job could not enrol, with the reason' })
  @ApiQuery({ name: 'after', required: false, description: 'nextAfter of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 10000 (1000)' })
  @ApiOkResponse({ type: BulkFailurePage })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER', 'INVALID_INPUT'], 404: ['JOB_NOT_FOUND'] })
  bulkFailures(
    @IdParam('batchId') batchId: string,
    @IdParam('jobId') jobId: string,
    @Query('after') after: string | undefined,
    @Query('limit') limit: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ items: RowFailure[]; nextAfter: number | null }> {
    const afterRow = after === undefined ? 0 : queryInteger({ value: after });
    const pageSize = limit === undefined ? 1_000 : queryInteger({ value: limit });
    if (typeof afterRow !== 'number' || afterRow < 0)
      throw new InvalidInputError('after must be a row number', [
        { field: 'after', message: 'a whole number from 0' },
      ]);
    if (typeof pageSize !== 'number' || pageSize < 1 || pageSize > 10_000)
      throw new InvalidInputError('limit must be from 1 to 10000', [
        { field: 'limit', message: 'a whole number from 1 to 10000' },
      ]);
    return this.bulk.failures(batchId, jobId, principal, afterRow, pageSize);
  }

  @Get('batches/:batchId/participants')
  @ApiOperation({ summary: 'The batch’s learners with their progress (mentors and admins)' })
  @ApiOkResponse({ type: ParticipantPage })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_CURSOR'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
  })
  async participants(
    @IdParam('batchId') batchId: string,
    @Query() query: ParticipantsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ParticipantPage> {
    await this.managedBatch(batchId, principal);
    const limit = query.limit ?? 100;
    const rows = await listParticipants(this.db, batchId, {
      ...(query.active === undefined ? {} : { active: query.active }),
      ...(query.completed === undefined ? {} : { completed: query.completed }),
      ...(query.cursor === undefined ? {} : { after: decodeIdCursor(query.cursor) }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map(enrolmentView);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeIdCursor(last.userId) : null,
      counts: await countParticipants(this.db, batchId),
    };
  }

  @Get('batches/:batchId/progress/:userId')
  @ApiOperation({ summary: 'One learner’s progress in a batch (the learner, mentors, admins)' })
  @ApiOkResponse({ type: EnrolmentProgressView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND', 'ENROLMENT_NOT_FOUND'],
  })
  async progress(
    @IdParam('batchId') batchId: string,
    @IdParam('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<EnrolmentProgressView> {
    const batch = await this.lookups.batch(batchId);
    if (!batch || !canReadBatch(principal, batch)) throw batchNotFound(batchId);
    if (!(await this.actsForThemself(principal, userId)) && !managesBatch(principal, batch))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Only the learner, the batch’s creator, its mentors or an admin see a learner’s progress',
      );
    // From the enrolment's own stream (cached): always as of the latest write, with the
    // per-content detail the read model does not keep.
    const enrolment = await this.writer.current(batchId, userId);
    if (!enrolment.exists) throw enrolmentNotFound(batchId, userId);
    return progressView(enrolment, this.lookups.scorePolicy);
  }

  @Post('batches/:batchId/progress')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Content progress of the caller (or, for system principals, of any learner)',
  })
  @ApiExtraModels(EnrolmentStandingView, ProgressFailureView)
  @ApiOkResponse({ type: ProgressResultsView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_CONTENT_ID', 'INVALID_INPUT'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND', 'COURSE_NOT_FOUND'],
    409: ['USER_NOT_ENROLLED_COURSE'],
    422: ['NOT_A_ON_GOING_BATCH'],
  })
  recordProgress(
    @IdParam('batchId') batchId: string,
    @Body() body: RecordProgressRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<ProgressResults> {
    return this.commands.execute(new RecordProgressCommand(batchId, body, principal, requestId));
  }

  @Post('batches/:batchId/assessments')
  @HttpCode(200)
  @ApiOperation({ summary: 'An assessment attempt; resubmitting its attempt id replaces it' })
  @ApiOkResponse({ type: AssessmentResultView })
  @ApiProblems({
    400: [
      'INVALID_IDENTIFIER',
      'INVALID_CONTENT_ID',
      'INVALID_SCORE',
      'ATTEMPT_MAX_SCORE_MISMATCH',
      'SCORE_ABOVE_MAX',
      'INVALID_INPUT',
    ],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND', 'COURSE_NOT_FOUND'],
    409: ['USER_NOT_ENROLLED_COURSE'],
    422: ['NOT_A_ON_GOING_BATCH', 'ASSESSMENT_MAX_SCORE_UNDECLARED'],
  })
  recordAssessment(
    @IdParam('batchId') batchId: string,
    @Body() body: RecordAssessmentRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<AssessmentResult> {
    return this.commands.execute(new RecordAssessmentCommand(batchId, body, principal, requestId));
  }

  @Post('batches/:batchId/certificates/issue')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Issue (or retry) certificates for learners who meet the batch’s criteria',
  })
  @ApiOkResponse({ type: CertificateRunView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND', 'COURSE_NOT_FOUND'],
  })
  issueCertificates(
    @IdParam('batchId') batchId: string,
    @Body() body: IssueCertificatesRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<CertificateRun> {
    return this.commands.execute(
      new IssueCertificatesCommand(batchId, body.userIds, principal, requestId),
    );
  }

  @Get('users/:userId/enrolments')
  @ApiOperation({ summary: 'A user’s enrolments, latest first (the user, their org admins)' })
  @ApiOkResponse({ type: UserEnrolmentsView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['USER_NOT_FOUND'],
  })
  async userEnrolments(
    @IdParam('userId') userId: string,
    @Query() query: UserEnrolmentsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ items: EnrolmentView[] }> {
    if (!(await this.actsForThemself(principal, userId)) && !isSystemAdmin(principal)) {
      const learner = (await this.lookups.learners([userId])).get(userId);
      // Another organisation's user is as unknown as one the hub never heard of.
      if (!learner || learner.organisationId !== principal.organisationId)
        throw userNotFound(userId);
      if (!isAdminOf(principal, learner.organisationId))
        throw new ForbiddenError(
          'UNAUTHORIZED_USER',
          'Only the user or an admin of their organisation lists their enrolments',
        );
    }
    const rows = await listUserEnrolments(this.db, userId, {
      includeInactive: query.includeInactive ?? false,
      limit: query.limit ?? 100,
    });
    return { items: rows.map(enrolmentView) };
  }

  private async actsForThemself(principal: Principal, userId: string): Promise<boolean> {
    if (principal.userId !== userId) return false;
    const learner = (await this.lookups.learners([userId])).get(userId) ?? null;
    return actsForThemself({ actor: principal, userId, learner });
  }

  private async managedBatch(batchId: string, principal: Principal) {
    const batch = await this.lookups.batch(batchId);
    if (!batch || !canReadBatch(principal, batch)) throw batchNotFound(batchId);
    if (!managesBatch(principal, batch))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Only the batch’s creator, its mentors or an admin see its participants',
      );
    return batch;
  }
}

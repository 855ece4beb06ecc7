import { ErrorCode } from '../errors/error-codes';
import { decodeIdCursor, encodeIdCursor } from '../http/id-cursor';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  BatchRecord,
  countBatchesByStatus,
  listBatches,
  readBatch,
} from '../../projections/batch-status/batch-status.query';
import { CurrentPrincipal } from '../auth/auth.guard';
import { Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ApiProblems } from '../errors/api-problems';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { parseIfMatch } from '../http/if-match';
import { IdParam, RequestId } from '../http/request-context';
import { batchDecider, batchNotFound, canReadBatch } from './batch.decider';
import { batchStream } from './batch.events';
import { CreateBatchCommand, UpdateBatchCommand } from './batches.commands';
import {
  BatchHistoryEntry,
  BatchPage,
  BatchView,
  CourseBatchCountsView,
  CreateBatchRequest,
  criteriaView,
  ListBatchesQuery,
  StatusCountsQuery,
  UpdateBatchRequest,
} from './batches.dto';

const toView = (batch: BatchRecord): BatchView => ({
  batchId: batch.batchId,
  courseId: batch.courseId,
  organisationId: batch.organisationId,
  name: batch.name,
  description: batch.description,
  enrollmentType: batch.enrollmentType,
  startDate: batch.start.given,
  endDate: batch.end?.given ?? null,
  enrollmentEndDate: batch.enrollmentEnd?.given ?? null,
  startsAt: batch.start.at,
  endsAt: batch.end?.at ?? null,
  enrollmentEndsAt: batch.enrollmentEnd?.at ?? null,
  status: batch.status,
  statusChangedAt: batch.statusChangedAt?.toISOString() ?? null,
  createdBy: batch.createdBy,
  createdFor: batch.createdFor,
  mentors: batch.mentors,
  invitees: batch.invitees,
  certificateCriteria: criteriaView(batch.certificateCriteria),
  lmsResourceLink: batch.lmsResourceLink ?? null,
  createdAt: batch.createdAt.toISOString(),
  updatedAt: batch.updatedAt.toISOString(),
  revision: batch.revision.toString(),
});

/** What a batch's dates and mentors are checked against, on create and on change alike. */
const BATCH_SETTINGS_RULES: readonly ErrorCode[] = [
  'END_DATE_ERROR',
  'ENROLLMENT_END_DATE_START_ERROR',
  'ENROLLMENT_END_DATE_END_ERROR',
  'INVALID_BATCH_END_DATE_ERROR',
  'INVALID_USER_ID',
  'USER_NOT_ASSOCIATED_TO_ROOT_ORG',
  'INVALID_PARAMETER_VALUE',
  'DATE_FORMAT_ERROR',
];

@ApiTags('batches')
@ApiBearerAuth()
@Controller('v1/batches')
export class BatchesController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a batch of a course (its creator or an admin)' })
  @ApiCreatedResponse({ type: BatchView })
  @ApiProblems({
    400: ['INVALID_COURSE_ID', 'COURSE_BATCH_START_DATE_INVALID', ...BATCH_SETTINGS_RULES],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
    409: ['BATCH_ALREADY_EXISTS'],
    503: ['VIEW_BEHIND'],
  })
  async create(
    @Body() body: CreateBatchRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BatchView> {
    const batchId = await this.commands.execute(new CreateBatchCommand(body, principal, requestId));
    void reply.header('location', `/v1/batches/${batchId}`);
    return this.read(batchId, principal, reply);
  }

  @Get()
  @ApiOperation({ summary: 'Batches the caller can see, filtered, one page at a time' })
  @ApiOkResponse({ type: BatchPage })
  @ApiProblems({ 400: ['INVALID_CURSOR'] })
  async list(
    @Query() query: ListBatchesQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BatchPage> {
    const limit = query.limit ?? 50;
    const rows = await listBatches(this.db, principal, {
      ...(query.courseId === undefined ? {} : { courseId: query.courseId }),
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.createdBy === undefined ? {} : { createdBy: query.createdBy }),
      ...(query.mentor === undefined ? {} : { mentor: query.mentor }),
      ...(query.organisationId === undefined ? {} : { organisationId: query.organisationId }),
      ...(query.enrollmentType === undefined ? {} : { enrollmentType: query.enrollmentType }),
      ...(query.cursor === undefined ? {} : { after: decodeIdCursor(query.cursor) }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map(toView);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeIdCursor(last.batchId) : null };
  }

  @Get('status-counts')
  @ApiOperation({ summary: 'Per course: how many batches are upcoming, in progress and ended' })
  @ApiOkResponse({ type: [CourseBatchCountsView] })
  counts(@Query() query: StatusCountsQuery, @CurrentPrincipal() principal: Principal) {
    return countBatchesByStatus(this.db, principal, query.courseId);
  }

  @Get(':batchId')
  @ApiOperation({ summary: 'A batch with its exact status; the ETag is its revision' })
  @ApiOkResponse({ type: BatchView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['BATCH_NOT_FOUND'] })
  get(
    @IdParam('batchId') batchId: string,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BatchView> {
    return this.read(batchId, principal, reply);
  }

  @Patch(':batchId')
  @HttpCode(200)
  @ApiOperation({ summary: 'Change a batch (creator, mentors, admins); honours If-Match' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag from GET: 412 if stale' })
  @ApiOkResponse({ type: BatchView })
  @ApiProblems({
    400: [
      'INVALID_IDENTIFIER',
      'INVALID_IF_MATCH',
      'INVALID_BATCH_START_DATE_ERROR',
      'COURSE_BATCH_END_DATE_ERROR',
      'ENROLLMENT_END_DATE_UPDATE_ERROR',
      ...BATCH_SETTINGS_RULES,
    ],
    403: ['UNAUTHORIZED_USER'],
    404: ['BATCH_NOT_FOUND'],
    412: ['STALE_REVISION'],
    503: ['VIEW_BEHIND'],
  })
  async update(
    @IdParam('batchId') batchId: string,
    @Body() body: UpdateBatchRequest,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BatchView> {
    await this.commands.execute(
      new UpdateBatchCommand(batchId, body, principal, requestId, parseIfMatch(ifMatch)),
    );
    return this.read(batchId, principal, reply);
  }

  @Get(':batchId/history')
  @ApiOperation({ summary: 'Every change of the batch: event type, actor, time and what changed' })
  @ApiOkResponse({ type: [BatchHistoryEntry] })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['BATCH_NOT_FOUND'] })
  async history(
    @IdParam('batchId') batchId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BatchHistoryEntry[]> {
    const { state } = await loadState(this.store, batchStream(batchId), batchDecider);
    if (!state.exists || !canReadBatch(principal, state)) throw batchNotFound(batchId);
    const events = await this.store.readStream(batchStream(batchId));
    return events.map((event) => ({
      revision: event.revision.toString(),
      type: event.type,
      actor: typeof event.metadata.principal === 'string' ? event.metadata.principal : 'unknown',
      actorOrganisationId: typeof event.metadata.tenant === 'string' ? event.metadata.tenant : null,
      requestId:
        typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : null,
      recordedAt: event.recordedAt.toISOString(),
      data: event.data,
    }));
  }

  private async read(
    batchId: string,
    principal: Principal,
    reply: FastifyReply,
  ): Promise<BatchView> {
    const batch = await readBatch(this.db, batchId);
    if (!batch || !canReadBatch(principal, batch)) throw batchNotFound(batchId);
    void reply.header('etag', `"${batch.revision.toString()}"`);
    return toView(batch);
  }
}

import { Body, Controller, Get, Inject, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { CurrentPrincipal, Public, RequireRoles } from '../auth/auth.guard';
import { actorOf, isAdminOf, isSystemAdmin, Principal } from '../auth/principal';
import { ApiProblems } from '../errors/api-problems';
import { NotFoundError } from '../errors/hub-error';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { FILE_STORAGE, FileStorage } from '../files/file-storage.port';
import { IdParam, RequestId } from '../http/request-context';
import { Jobs } from '../jobs/jobs';
import { DownloadRatios } from './download-ratios';
import { ExhaustDownloads } from './exhaust-downloads';
import { jobRequestView, readExhaustRequest } from './exhaust-request.view';
import { RequestExhaustCommand } from './exhausts.commands';
import {
  DownloadLinkView,
  DownloadRatioQuery,
  DownloadRatiosView,
  JobRequestDto,
  JobRequestPage,
  ListJobRequestsQuery,
  RequestExhaustBody,
} from './exhausts.dto';
import {
  jobRequestCursor,
  listJobRequests,
  readJobRequest,
} from '../../projections/job-requests/job-requests.query';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { decodeIdCursor, encodeIdCursor } from '../http/id-cursor';

/**
 * Report requests (the reference's exhaust jobs): asked for here, made by the job runner,
 * followed at GET /v1/jobs/{requestId} (its `details`), downloaded through signed links.
 */
@ApiTags('reports')
@Controller('v1')
export class ExhaustsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly jobs: Jobs,
    private readonly downloads: ExhaustDownloads,
    private readonly downloadRatios: DownloadRatios,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(FILE_STORAGE) private readonly files: FileStorage,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  @Post('jobs')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Ask for a report of batches: 201 a new request, 200 the same one asked today',
  })
  @ApiCreatedResponse({ type: JobRequestDto })
  @ApiOkResponse({ type: JobRequestDto, description: 'The same request, asked earlier today' })
  @ApiProblems({
    400: ['INVALID_EXHAUST_REQUEST'],
    403: ['UNAUTHORIZED_USER'],
  })
  async request(
    @Body() body: RequestExhaustBody,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobRequestDto> {
    const batchIds = [
      ...(body.batchId === undefined ? [] : [body.batchId]),
      ...(body.batchIds ?? []),
    ];
    const { state, created } = await this.commands.execute(
      new RequestExhaustCommand(
        {
          type: body.type,
          batchIds,
          encryptionKey: body.encryptionKey ?? null,
          tag: body.tag ?? null,
        },
        principal,
        requestId,
      ),
    );
    void reply.header('location', `/v1/jobs/${state.request.requestId}`);
    if (!created) void reply.status(200);
    const job = await this.jobs.find(state.request.requestId);
    return jobRequestView(state, job?.progress.done ?? 0);
  }

  @Get('jobs')
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "Report requests, newest first: an admin's organisation's (system admins: all), else the caller's own",
  })
  @ApiOkResponse({ type: JobRequestPage })
  @ApiProblems({ 400: ['INVALID_CURSOR'] })
  async list(
    @Query() query: ListJobRequestsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobRequestPage> {
    const limit = query.limit ?? 50;
    const after =
      query.cursor === undefined
        ? undefined
        : await readJobRequest(this.db, decodeIdCursor(query.cursor));
    if (query.cursor !== undefined && !after) return { items: [], nextCursor: null };
    const admin = isAdminOf(principal, principal.organisationId);
    const rows = await listJobRequests(this.db, {
      organisationId: isSystemAdmin(principal) ? null : principal.organisationId,
      ...(admin ? {} : { requestedBy: principal.userId }),
      ...(query.tag === undefined ? {} : { tag: query.tag }),
      ...(query.type === undefined ? {} : { type: query.type }),
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(after ? { after: jobRequestCursor(after) } : {}),
      limit: limit + 1,
    });
    const items = rows
      .slice(0, limit)
      .map(
        ({ organisationId: _organisation, revision: _revision, encryptionKey: _key, ...row }) =>
          row,
      );
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeIdCursor(last.requestId) : null,
    };
  }

  @Get('metrics/exhaust-downloads')
  @ApiBearerAuth()
  @RequireRoles('ORG_ADMIN', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary:
      'The download ratio (downloads ÷ batches reported on) per batch, course and organisation, over a period',
  })
  @ApiOkResponse({ type: DownloadRatiosView })
  @ApiProblems({ 403: ['MISSING_ROLE'] })
  ratios(
    @Query() query: DownloadRatioQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DownloadRatiosView> {
    return this.downloadRatios.of({
      organisationId: isSystemAdmin(principal) ? null : principal.organisationId,
      ...(query.from === undefined ? {} : { from: query.from }),
      ...(query.to === undefined ? {} : { to: query.to }),
    });
  }

  @Get('jobs/:requestId/download')
  @ApiBearerAuth()
  @ApiOperation({ summary: "A signed, expiring link to one batch's file of a made report" })
  @ApiQuery({ name: 'batchId', required: false, description: 'Needed when the report has several' })
  @ApiOkResponse({ type: DownloadLinkView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_EXHAUST_REQUEST'],
    404: ['JOB_NOT_FOUND', 'FILE_NOT_FOUND'],
  })
  async link(
    @IdParam('requestId') requestId: string,
    @Query('batchId') batchId: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DownloadLinkView> {
    const actor = actorOf(principal);
    await this.jobs.visible(requestId, actor);
    const state = await readExhaustRequest(this.store, requestId);
    if (!state.exists) throw new NotFoundError('JOB_NOT_FOUND', `No job ${requestId}`);
    return this.downloads.link(state, batchId, actor.userId);
  }

  @Get('report-files')
  @Public()
  @ApiQuery({ name: 'token', required: true, description: 'From a download link' })
  @ApiOperation({ summary: 'The file a download link names; every download is recorded' })
  @ApiOkResponse({
    description: 'The zip',
    content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiProblems({
    403: ['DOWNLOAD_LINK_INVALID'],
    404: ['FILE_NOT_FOUND'],
    410: ['DOWNLOAD_LINK_EXPIRED'],
  })
  async file(
    @Query('token') token: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    const file = await this.downloads.open(token ?? '');
    const content = await this.files.open(file.key);
    void reply
      .header('content-type', 'application/zip')
      .header('content-disposition', `attachment; filename="${file.name}"`)
      .header('cache-control', 'no-store');
    return content;
  }
}

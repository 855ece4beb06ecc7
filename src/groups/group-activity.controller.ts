import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  OnModuleDestroy,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal } from '../auth/auth.guard';
import { actorOf, Principal } from '../auth/principal';
import { ApiProblems } from '../errors/api-problems';
import { InvalidInputError } from '../errors/hub-error';
import { ErrorCode } from '../errors/error-codes';
import { IDENTIFIER, IDENTIFIER_RULE, IdParam } from '../http/request-context';
import { GroupActivityReader, NamedMember } from './group-activity';
import {
  GroupActivityAggRequest,
  GroupActivityAggView,
  GroupActivityQuery,
  GroupActivityStandingView,
} from './group-activity.dto';
import {
  aggregatesView,
  decodeMemberCursor,
  referenceView,
  restView,
} from './group-activity-views';

/** How often an open stream looks for a change, and how often it says it is still there. */
const STREAM_POLL_MS = 250;
const STREAM_HEARTBEAT_MS = 15_000;
/** The reference form lists every member; it reads them a page at a time. */
const REFERENCE_PAGE = 1_000;

/** A field of the reference's request: its own code when missing, 400 when not an identifier. */
const requiredField = (value: unknown, field: string, missing: ErrorCode): string => {
  if (value === undefined || value === null || value === '')
    throw new InvalidInputError(`${field} is mandatory`, [{ field, message: 'required' }], missing);
  if (typeof value !== 'string' || !IDENTIFIER.test(value))
    throw new InvalidInputError(
      `${field} is not a valid identifier`,
      [{ field, message: `must be ${IDENTIFIER_RULE}` }],
      'INVALID_IDENTIFIER',
    );
  return value;
};

const weakEtag = (body: unknown): string =>
  `W/"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;

@ApiTags('groups')
@ApiBearerAuth()
@Controller()
export class GroupActivityController implements OnModuleDestroy {
  /** The open streams, ended when the hub shuts down. */
  private readonly streams = new Set<AbortController>();

  constructor(private readonly reader: GroupActivityReader) {}

  onModuleDestroy(): void {
    for (const stream of this.streams) stream.abort();
  }

  @Post('v1/group/activity/agg')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'A group’s aggregates for an activity in the reference’s (Sunbird’s) shape: the activity’s metrics and every member’s',
  })
  @ApiOkResponse({ type: GroupActivityAggView })
  @ApiProblems({
    400: ['GROUP_ID_MISSING', 'ACTIVITY_ID_MISSING', 'ACTIVITY_TYPE_MISSING', 'INVALID_IDENTIFIER'],
    404: ['GROUP_NOT_FOUND', 'GROUP_ACTIVITY_NOT_FOUND'],
  })
  async aggregate(
    @Body() body: GroupActivityAggRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<GroupActivityAggView> {
    const request = body.request ?? {};
    const groupId = requiredField(request.groupId, 'groupId', 'GROUP_ID_MISSING');
    const activityId = requiredField(request.activityId, 'activityId', 'ACTIVITY_ID_MISSING');
    const activityType = requiredField(
      request.activityType,
      'activityType',
      'ACTIVITY_TYPE_MISSING',
    );
    const opened = await this.reader.open(actorOf(principal), groupId, activityId, activityType);
    const view = await this.reader.cached(opened, 'reference', async () => {
      const members: NamedMember[] = [];
      for (let after = undefined, more = true; more;) {
        const page = await this.reader.members(opened, {
          sort: 'userId',
          limit: REFERENCE_PAGE,
          ...(after === undefined ? {} : { after }),
        });
        members.push(...page.members);
        after = page.next ?? undefined;
        more = page.next !== null;
      }
      return referenceView(opened.activity, await this.reader.aggregates(opened.activity), members);
    });
    return view.value;
  }

  @Get('v1/groups/:groupId/activities/:activityId')
  @ApiOperation({
    summary:
      'A group’s aggregates for an activity, with a page of its members (sortable by progress or score). The ETag changes with them',
  })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'The ETag: 304 if unchanged' })
  @ApiOkResponse({ type: GroupActivityStandingView })
  @ApiResponse({ status: 304, description: 'Unchanged since the ETag given' })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_CURSOR'],
    404: ['GROUP_NOT_FOUND', 'GROUP_ACTIVITY_NOT_FOUND'],
  })
  async activity(
    @IdParam('groupId') groupId: string,
    @IdParam('activityId') activityId: string,
    @Query() query: GroupActivityQuery,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GroupActivityStandingView | undefined> {
    const after = query.cursor === undefined ? undefined : decodeMemberCursor(query.cursor);
    const opened = await this.reader.open(actorOf(principal), groupId, activityId);
    const sort = query.sort ?? 'userId';
    const limit = query.limit ?? 100;
    const key = `rest|${sort}|${limit}|${query.cursor ?? ''}`;
    const view = await this.reader.cached(opened, key, async () => {
      const [aggregates, page] = await Promise.all([
        this.reader.aggregates(opened.activity),
        this.reader.members(opened, { sort, limit, ...(after === undefined ? {} : { after }) }),
      ]);
      return restView(opened.activity, aggregates, page.members, page.next);
    });
    // The view follows from where the activity had changed when it was made, and what was asked.
    const etag = weakEtag([view.changedAt, opened.viewer, key]);
    void reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (ifNoneMatch !== undefined && ifNoneMatch.split(/\s*,\s*/).includes(etag)) {
      void reply.status(304);
      return undefined;
    }
    return view.value;
  }

  @Get('v1/groups/:groupId/activities/:activityId/stream')
  @ApiOperation({
    summary:
      'The activity’s aggregates live, as Server-Sent Events: `event: aggregates` now and on every change',
  })
  @ApiOkResponse({
    description: 'Server-Sent Events; `data:` the aggregates as in GET …/activities/{activityId}',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    404: ['GROUP_NOT_FOUND', 'GROUP_ACTIVITY_NOT_FOUND'],
  })
  async stream(
    @IdParam('groupId') groupId: string,
    @IdParam('activityId') activityId: string,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const actor = actorOf(principal);
    let opened = await this.reader.open(actor, groupId, activityId);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'x-request-id': String(request.id),
    });
    const closed = new AbortController();
    this.streams.add(closed);
    raw.on('close', () => closed.abort());
    let sent = '';
    let quietSince = Date.now();
    try {
      for (let changedAt: string | null | undefined; !closed.signal.aborted;) {
        // Each look also checks access: a viewer who leaves the group stops seeing it at once.
        if (opened.activity.changedAt !== changedAt) {
          const current = opened;
          const view = await this.reader.cached(current, 'stream', async () =>
            JSON.stringify(aggregatesView(await this.reader.aggregates(current.activity))),
          );
          // What the data reflects: a view served from before the change is looked at again.
          changedAt = view.changedAt;
          const data = view.value;
          if (data !== sent) {
            raw.write(`event: aggregates\ndata: ${data}\n\n`);
            sent = data;
            quietSince = Date.now();
          }
        }
        if (Date.now() - quietSince >= STREAM_HEARTBEAT_MS) {
          raw.write(': keep-alive\n\n');
          quietSince = Date.now();
        }
        await sleep(STREAM_POLL_MS, undefined, { signal: closed.signal }).catch(() => undefined);
        if (!closed.signal.aborted) opened = await this.reader.open(actor, groupId, activityId);
      }
    } catch {
      // Access gone, or the database failing under an open stream: the stream ends.
    } finally {
      this.streams.delete(closed);
      raw.end();
    }
  }
}

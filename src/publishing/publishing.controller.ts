import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  PipeTransform,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { listLearningEvents } from '../../projections/learning-events/learning-events.query';
import { isSubscribedTo } from '../../projections/subscriptions/subscriptions.query';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal, RequireRoles } from '../auth/auth.guard';
import { hasRole, isSystemAdmin, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { InvalidInputError } from '../errors/hub-error';
import { toProblem } from '../errors/problem-details';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore, START } from '../event-store/event-store.port';
import { parseIfMatch } from '../http/if-match';
import { RequestId } from '../http/request-context';
import { MAX_EVENTS_PER_BATCH } from './publishing-routes';
import { ProgramDirectory } from '../programs/programs.lookups';
import { decodeFeedCursor, feedCursor } from '../http/log-cursor';
import {
  learningEventDecider,
  learningEventNotFound,
  learningEventRetracted,
  LearningEventState,
} from './learning-event.decider';
import { learningEventStream, parseEventId } from './learning-event.events';
import {
  AmendEventCommand,
  EventOutcome,
  invalidEventId,
  PublishEventsCommand,
  RetractEventCommand,
} from './publishing.commands';
import { EraseParticipantCommand } from './participant-erasure.commands';
import {
  EraseParticipantRequest,
  LearningEventPage,
  LearningEventView,
  ListEventsQuery,
  ParticipantErasureView,
  PublishBatchView,
  PublishEventRequest,
} from './publishing.dto';

class EventIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!parseEventId(value)) throw invalidEventId(value);
    return value;
  }
}

const EventIdParam = () => Param('eventId', new EventIdPipe());

type ExistingEvent = Extract<LearningEventState, { exists: true }>;

const toView = (state: ExistingEvent): LearningEventView => ({
  EventId: state.eventId,
  ...state.content,
  CreatedUtc: state.createdUtc,
  AmendedUtc: state.amendedUtc,
});

const answer = (reply: FastifyReply, { state, revision }: EventOutcome) => {
  void reply.header('etag', `"${revision.toString()}"`);
  return toView(state);
};

@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/events')
export class PublishingController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly programs: ProgramDirectory,
  ) {}

  @Post()
  @RequireRoles('PUBLISHER', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary:
      'Publish an event for one of your programs. 201 with its EventId; the same PublisherEventId again answers 200 with the original; other content under it is 409',
  })
  @ApiBody({ type: PublishEventRequest })
  @ApiCreatedResponse({ type: LearningEventView })
  @ApiOkResponse({ type: LearningEventView, description: 'A resend: the event it first created' })
  @ApiProblems({
    403: ['MISSING_ROLE', 'PROGRAM_NOT_YOURS'],
    404: ['PROGRAM_NOT_FOUND'],
    409: ['EVENT_CONFLICT', 'EVENT_RETRACTED'],
  })
  async publish(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LearningEventView> {
    const [result] = await this.commands.execute(
      new PublishEventsCommand([body], principal, requestId),
    );
    if (!result) throw new Error('A publish of one event answered nothing');
    if (!result.ok) throw result.error;
    const { outcome } = result;
    void reply
      .status(outcome.changed ? 201 : 200)
      .header('location', `/v1/events/${outcome.state.eventId}`);
    return answer(reply, outcome);
  }

  @Post('batch')
  @HttpCode(200)
  @RequireRoles('PUBLISHER', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary: `Publish up to ${MAX_EVENTS_PER_BATCH} events (a JSON array, or {"events": [...]}); each is checked and answered on its own`,
  })
  @ApiBody({ type: [PublishEventRequest] })
  @ApiOkResponse({ type: PublishBatchView })
  @ApiProblems({ 400: ['INVALID_BATCH'], 403: ['MISSING_ROLE'] })
  async publishBatch(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<PublishBatchView> {
    const events = Array.isArray(body)
      ? body
      : typeof body === 'object' &&
          body !== null &&
          Array.isArray((body as { events?: unknown }).events)
        ? (body as { events: unknown[] }).events
        : null;
    if (events === null || events.length === 0 || events.length > MAX_EVENTS_PER_BATCH)
      throw new InvalidInputError(
        `A batch is a JSON array of 1 to ${MAX_EVENTS_PER_BATCH} events, or {"events": [...]}`,
        [{ field: 'events', message: `must hold 1 to ${MAX_EVENTS_PER_BATCH} events` }],
        'INVALID_BATCH',
      );
    const results = await this.commands.execute(
      new PublishEventsCommand(events, principal, requestId),
    );
    const view: PublishBatchView = { created: 0, duplicates: 0, failed: 0, results: [] };
    results.forEach((result, index) => {
      if (result.ok) {
        if (result.outcome.changed) view.created++;
        else view.duplicates++;
        view.results.push({
          index,
          status: result.outcome.changed ? 201 : 200,
          EventId: result.outcome.state.eventId,
        });
      } else {
        view.failed++;
        const { problem } = toProblem(result.error);
        view.results.push({
          index,
          status: problem.status,
          code: problem.code,
          detail: problem.detail,
          ...(Array.isArray(problem.issues) ? { issues: problem.issues } : {}),
          ...(typeof problem.eventId === 'string' ? { EventId: problem.eventId } : {}),
        });
      }
    });
    return view;
  }

  @Post('erasures')
  @HttpCode(200)
  @RequireRoles('PUBLISHER', 'ORG_ADMIN', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary:
      'Erase a participant of your program: every event naming them leaves the hub for good, and subscribers that imported any are sent an "erased" item with their EventIds',
  })
  @ApiOkResponse({ type: ParticipantErasureView })
  @ApiProblems({
    403: ['MISSING_ROLE', 'PROGRAM_NOT_YOURS'],
    404: ['PROGRAM_NOT_FOUND'],
    409: ['ERASURE_RECORDED'],
  })
  erase(
    @Body() body: EraseParticipantRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<ParticipantErasureView> {
    return this.commands.execute(
      new EraseParticipantCommand(
        body.PublisherProgramId,
        body.PublisherParticipantId,
        principal,
        requestId,
      ),
    );
  }

  @Get()
  @RequireRoles('PUBLISHER', 'SUBSCRIBER', 'ORG_ADMIN', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary:
      'Events in the hub’s order: a publisher’s own programs’, or those a subscriber’s approved subscriptions import',
  })
  @ApiOkResponse({ type: LearningEventPage })
  @ApiProblems({ 400: ['INVALID_CURSOR'], 403: ['MISSING_ROLE'] })
  async list(
    @Query() query: ListEventsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LearningEventPage> {
    const limit = query.limit ?? 100;
    const after = query.cursor === undefined ? START : decodeFeedCursor(query.cursor, 'cursor');
    const rows = await listLearningEvents(this.db, principal, {
      ...(query.programId === undefined ? {} : { programId: query.programId }),
      ...(query.participantId === undefined ? {} : { participantId: query.participantId }),
      ...(query.category === undefined ? {} : { category: query.category }),
      ...(query.eventType === undefined ? {} : { eventType: query.eventType }),
      ...(query.from === undefined ? {} : { from: new Date(query.from) }),
      ...(query.to === undefined ? {} : { to: new Date(query.to) }),
      ...(query.includeRetracted === undefined ? {} : { includeRetracted: query.includeRetracted }),
      ...(after === START ? {} : { after }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map(({ position: _position, ...event }) => event);
    const last = rows[limit - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? feedCursor(last.position) : null,
    };
  }

  @Get(':eventId')
  @RequireRoles('PUBLISHER', 'SUBSCRIBER', 'ORG_ADMIN', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary: 'One event, as it stands now; 410 once retracted. The ETag is its revision',
  })
  @ApiOkResponse({ type: LearningEventView })
  @ApiProblems({
    400: ['INVALID_EVENT_ID'],
    403: ['MISSING_ROLE'],
    404: ['EVENT_NOT_FOUND'],
    410: ['EVENT_RETRACTED'],
  })
  async get(
    @EventIdParam() eventId: string,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LearningEventView> {
    const parts = parseEventId(eventId)!;
    const { state, revision } = await loadState(
      this.store,
      learningEventStream(parts),
      learningEventDecider,
    );
    if (!state.exists || !(await this.maySee(principal, state)))
      throw learningEventNotFound(eventId);
    if (state.retractedUtc !== null) throw learningEventRetracted(eventId, state.retractedUtc);
    return answer(reply, { state, revision: revision ?? 0n, changed: false });
  }

  @Put(':eventId')
  @HttpCode(200)
  @RequireRoles('PUBLISHER', 'SYSTEM_ADMIN')
  @ApiOperation({
    summary:
      'Correct an event: the whole event again, with its PublisherProgramId and PublisherEventId. Recorded as an amendment; honours If-Match',
  })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag from GET: 412 if stale' })
  @ApiBody({ type: PublishEventRequest })
  @ApiOkResponse({ type: LearningEventView })
  @ApiProblems({
    400: ['INVALID_EVENT_ID', 'INVALID_IF_MATCH', 'EVENT_ID_MISMATCH'],
    403: ['MISSING_ROLE', 'PROGRAM_NOT_YOURS'],
    404: ['EVENT_NOT_FOUND', 'PROGRAM_NOT_FOUND'],
    409: ['EVENT_RETRACTED'],
    412: ['STALE_REVISION'],
  })
  async amend(
    @EventIdParam() eventId: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LearningEventView> {
    const outcome = await this.commands.execute(
      new AmendEventCommand(eventId, body, principal, requestId, parseIfMatch(ifMatch)),
    );
    return answer(reply, outcome);
  }

  @Delete(':eventId')
  @HttpCode(204)
  @RequireRoles('PUBLISHER', 'SYSTEM_ADMIN')
  @ApiOperation({ summary: 'Retract an event; subscribers receive the retraction. Again: no-op' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag from GET: 412 if stale' })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_EVENT_ID', 'INVALID_IF_MATCH'],
    403: ['MISSING_ROLE', 'PROGRAM_NOT_YOURS'],
    404: ['EVENT_NOT_FOUND', 'PROGRAM_NOT_FOUND'],
    412: ['STALE_REVISION'],
  })
  async retract(
    @EventIdParam() eventId: string,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.commands.execute(
      new RetractEventCommand(eventId, principal, requestId, parseIfMatch(ifMatch)),
    );
  }

  /** The program's organisation (its publishers and admins), or a subscriber that imports it. */
  private async maySee(principal: Principal, state: ExistingEvent): Promise<boolean> {
    if (isSystemAdmin(principal)) return true;
    const programId = state.content.PublisherProgramId;
    const program = await this.programs.program(programId);
    if (
      program?.organisationId === principal.organisationId &&
      hasRole(principal, 'PUBLISHER', 'ORG_ADMIN')
    )
      return true;
    if (!hasRole(principal, 'SUBSCRIBER', 'ORG_ADMIN')) return false;
    return isSubscribedTo(
      this.db,
      principal.organisationId,
      programId,
      state.content.PublisherEventCategory?.value ?? null,
    );
  }
}

import { Body, Controller, Get, HttpCode, Inject, Patch, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { listPrograms } from '../../projections/programs/programs.query';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal } from '../auth/auth.guard';
import { canSeeOrganisation, isSystemAdmin, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { HubError } from '../errors/hub-error';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { PatternParam, RequestId } from '../http/request-context';
import {
  PROGRAM_ID,
  PROGRAM_ID_RULE,
  programDecider,
  programNotFound,
  ProgramState,
} from './program.decider';
import { programStream } from './program.events';
import { RegisterProgramCommand, UpdateProgramCommand } from './programs.commands';
import {
  ListProgramsQuery,
  ProgramPage,
  ProgramView,
  RegisterProgramRequest,
  UpdateProgramRequest,
} from './programs.dto';

const toView = (state: ProgramState): ProgramView => {
  // Commands that succeed leave a registered program behind.
  if (!state.exists) throw new HubError('internal', 'INTERNAL', 'The program is missing');
  return {
    programId: state.programId,
    organisationId: state.organisationId,
    name: state.name,
    description: state.description,
    registeredAt: state.registeredAt,
    updatedAt: state.updatedAt,
  };
};

export const ProgramIdParam = (name: string) => PatternParam(name, PROGRAM_ID, PROGRAM_ID_RULE);

@ApiTags('programs')
@ApiBearerAuth()
@Controller('v1/programs')
export class ProgramsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Post()
  @ApiOperation({
    summary:
      'Register a program that publishes or subscribes (system admin, or an admin of its organisation); 200 for an identical retry',
  })
  @ApiCreatedResponse({ type: ProgramView })
  @ApiOkResponse({ type: ProgramView, description: 'An identical retry: the program as it is' })
  @ApiProblems({ 403: ['UNAUTHORIZED_USER'], 409: ['PROGRAM_EXISTS'] })
  async register(
    @Body() body: RegisterProgramRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProgramView> {
    const { state, changed } = await this.commands.execute(
      new RegisterProgramCommand(body, principal, requestId),
    );
    void reply.status(changed ? 201 : 200).header('location', `/v1/programs/${body.programId}`);
    return toView(state);
  }

  @Get()
  @ApiOperation({
    summary: 'Programs of the caller’s organisation (system admins: all, or one organisation’s)',
  })
  @ApiOkResponse({ type: ProgramPage })
  async list(
    @Query() query: ListProgramsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ProgramPage> {
    const limit = query.limit ?? 50;
    const organisationId = isSystemAdmin(principal)
      ? (query.organisationId ?? null)
      : principal.organisationId;
    const rows = await listPrograms(this.db, {
      organisationId,
      ...(query.cursor === undefined ? {} : { after: query.cursor }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map((row) => ({
      programId: row.programId,
      organisationId: row.organisationId,
      name: row.name,
      description: row.description,
      registeredAt: row.registeredAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    }));
    return {
      items,
      nextCursor: rows.length > limit ? (items.at(-1)?.programId ?? null) : null,
    };
  }

  @Get(':programId')
  @ApiOperation({ summary: 'A program of the caller’s organisation' })
  @ApiOkResponse({ type: ProgramView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['PROGRAM_NOT_FOUND'] })
  async get(
    @ProgramIdParam('programId') programId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ProgramView> {
    const { state } = await loadState(this.store, programStream(programId), programDecider);
    if (!state.exists || !canSeeOrganisation(principal, state.organisationId))
      throw programNotFound(programId);
    return toView(state);
  }

  @Patch(':programId')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rename or describe a program (its organisation’s admins)' })
  @ApiOkResponse({ type: ProgramView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['PROGRAM_NOT_FOUND'],
  })
  async update(
    @ProgramIdParam('programId') programId: string,
    @Body() body: UpdateProgramRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<ProgramView> {
    const { state } = await this.commands.execute(
      new UpdateProgramCommand(programId, body, principal, requestId),
    );
    return toView(state);
  }
}

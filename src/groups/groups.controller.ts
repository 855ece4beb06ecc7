import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { listGroups } from '../../projections/group-activity/groups.query';
import { CurrentPrincipal } from '../auth/auth.guard';
import { Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ApiProblems } from '../errors/api-problems';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { decodeIdCursor, encodeIdCursor } from '../http/id-cursor';
import { IdParam, RequestId } from '../http/request-context';
import { userProfileOrganisation } from '../users/users.lookups';
import { canReadGroup, groupDecider, groupListScope, groupNotFound } from './group.decider';
import { groupStream } from './group.events';
import {
  AddGroupActivityCommand,
  AddGroupMemberCommand,
  PutGroupCommand,
  RemoveGroupActivityCommand,
  RemoveGroupMemberCommand,
} from './groups.commands';
import {
  GroupActivityTypeRequest,
  GroupMembershipRequest,
  GroupPage,
  groupView,
  GroupView,
  ListGroupsQuery,
  PutGroupRequest,
} from './groups.dto';

@ApiTags('groups')
@ApiBearerAuth()
@Controller('v1/groups')
export class GroupsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Put(':groupId')
  @ApiOperation({
    summary:
      'Create a group, or make it match the snapshot: its details, every member and every activity (admins of its organisation). An unchanged snapshot records nothing.',
  })
  @ApiCreatedResponse({ type: GroupView, description: 'The group was created' })
  @ApiOkResponse({ type: GroupView, description: 'The group existed: as it is now' })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'GROUP_SNAPSHOT_DUPLICATE', 'GROUP_ORGANISATION_REQUIRED'],
    403: ['GROUP_WRITE_FORBIDDEN'],
    409: ['GROUP_ORGANISATION_IMMUTABLE'],
    422: ['GROUP_LIMIT_REACHED'],
  })
  async put(
    @IdParam('groupId') groupId: string,
    @Body() body: PutGroupRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GroupView> {
    const { view, created } = await this.commands.execute(
      new PutGroupCommand(groupId, body, principal, requestId),
    );
    void reply.status(created ? 201 : 200).header('location', `/v1/groups/${groupId}`);
    return view;
  }

  @Post(':groupId/members/:userId')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Add a member, or change their role or status (organisation admins and the group’s active admins). The same role and status again records nothing.',
  })
  @ApiOkResponse({ type: GroupView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['GROUP_WRITE_FORBIDDEN'],
    404: ['GROUP_NOT_FOUND'],
    422: ['GROUP_LIMIT_REACHED'],
  })
  addMember(
    @IdParam('groupId') groupId: string,
    @IdParam('userId') userId: string,
    @Body() body: GroupMembershipRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<GroupView> {
    return this.commands.execute(
      new AddGroupMemberCommand(groupId, userId, body, principal, requestId),
    );
  }

  @Delete(':groupId/members/:userId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove a member (organisation admins and the group’s active admins)',
  })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['GROUP_WRITE_FORBIDDEN'],
    404: ['GROUP_NOT_FOUND', 'GROUP_MEMBER_NOT_FOUND'],
  })
  async removeMember(
    @IdParam('groupId') groupId: string,
    @IdParam('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.commands.execute(
      new RemoveGroupMemberCommand(groupId, userId, principal, requestId),
    );
  }

  @Post(':groupId/activities/:activityId')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Add an activity (admins of the group’s organisation). The same type again records nothing; another type replaces it (removed, then added).',
  })
  @ApiOkResponse({ type: GroupView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['GROUP_WRITE_FORBIDDEN'],
    404: ['GROUP_NOT_FOUND'],
    422: ['GROUP_LIMIT_REACHED'],
  })
  addActivity(
    @IdParam('groupId') groupId: string,
    @IdParam('activityId') activityId: string,
    @Body() body: GroupActivityTypeRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<GroupView> {
    return this.commands.execute(
      new AddGroupActivityCommand(groupId, activityId, body, principal, requestId),
    );
  }

  @Delete(':groupId/activities/:activityId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove an activity (admins of the group’s organisation)' })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['GROUP_WRITE_FORBIDDEN'],
    404: ['GROUP_NOT_FOUND', 'GROUP_ACTIVITY_NOT_FOUND'],
  })
  async removeActivity(
    @IdParam('groupId') groupId: string,
    @IdParam('activityId') activityId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.commands.execute(
      new RemoveGroupActivityCommand(groupId, activityId, principal, requestId),
    );
  }

  @Get()
  @ApiOperation({
    summary:
      'Groups by groupId, a page at a time: system admins all (or one organisation’s), organisation admins their organisation’s, anyone the groups they are a member of (member=<their id>)',
  })
  @ApiOkResponse({ type: GroupPage })
  @ApiProblems({
    400: ['INVALID_CURSOR'],
    403: ['GROUP_LIST_FORBIDDEN'],
  })
  async list(
    @Query() query: ListGroupsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<GroupPage> {
    const limit = query.limit ?? 50;
    const after = query.cursor === undefined ? undefined : decodeIdCursor(query.cursor);
    const scope = groupListScope(
      principal,
      {
        ...(query.member === undefined ? {} : { memberId: query.member }),
        ...(query.organisation === undefined ? {} : { organisationId: query.organisation }),
      },
      query.member === principal.userId
        ? await userProfileOrganisation(this.store, principal.userId)
        : null,
    );
    const rows = await listGroups(this.db, {
      ...scope,
      ...(after === undefined ? {} : { after }),
      limit: limit + 1,
    });
    const groups = rows.slice(0, limit).map((group) => ({
      groupId: group.groupId,
      organisationId: group.organisationId,
      name: group.name,
      description: group.description,
      memberCount: group.memberCount,
      activityCount: group.activityCount,
      updatedAt: group.updatedAt.toISOString(),
    }));
    const last = groups.at(-1);
    return {
      groups,
      nextCursor: rows.length > limit && last ? encodeIdCursor(last.groupId) : null,
    };
  }

  @Get(':groupId')
  @ApiOperation({
    summary:
      'A group with its members and activities (system admins, admins of its organisation, its members)',
  })
  @ApiOkResponse({ type: GroupView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['GROUP_NOT_FOUND'] })
  async get(
    @IdParam('groupId') groupId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<GroupView> {
    const { state } = await loadState(this.store, groupStream(groupId), groupDecider);
    const profile = state.members.has(principal.userId)
      ? await userProfileOrganisation(this.store, principal.userId)
      : null;
    if (!canReadGroup(principal, state, profile)) throw groupNotFound(groupId);
    return groupView(state);
  }
}

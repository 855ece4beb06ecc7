import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { GROUP_ACTIVITY_READ_MODEL } from '../../projections/group-activity/group-activity.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { actorOf, Principal } from '../auth/principal';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { userProfileOrganisation } from '../users/users.lookups';
import { GroupCommand, groupDecider, GroupState } from './group.decider';
import { groupStream } from './group.events';
import {
  GroupActivityTypeRequest,
  GroupMembershipRequest,
  groupView,
  GroupView,
  PutGroupRequest,
} from './groups.dto';

/** The group as it is after the snapshot, and whether this request created it. */
export interface PutGroupResult {
  view: GroupView;
  created: boolean;
}

export class PutGroupCommand extends Command<PutGroupResult> {
  constructor(
    readonly groupId: string,
    readonly request: PutGroupRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class AddGroupMemberCommand extends Command<GroupView> {
  constructor(
    readonly groupId: string,
    readonly userId: string,
    readonly request: GroupMembershipRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class RemoveGroupMemberCommand extends Command<void> {
  constructor(
    readonly groupId: string,
    readonly userId: string,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class AddGroupActivityCommand extends Command<GroupView> {
  constructor(
    readonly groupId: string,
    readonly activityId: string,
    readonly request: GroupActivityTypeRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class RemoveGroupActivityCommand extends Command<void> {
  constructor(
    readonly groupId: string,
    readonly activityId: string,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

/** A command as the request gives it: the handler adds the group, actor and time. */
type Decided<T extends GroupCommand = GroupCommand> = T extends GroupCommand
  ? Omit<T, 'groupId' | 'actor' | 'actorProfile' | 'now'>
  : never;

/** Runs the decider on the group's stream; after an append, waits for the group read model. */
@Injectable()
abstract class GroupCommandHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    protected readonly projections: ProjectionEngine,
  ) {}

  protected async run(
    request: { groupId: string; principal: Principal; requestId: string },
    command: Decided,
  ): Promise<{ state: GroupState; created: boolean }> {
    const actor = actorOf(request.principal);
    const outcome = await handleCommand(
      this.store,
      groupStream(request.groupId),
      groupDecider,
      {
        ...command,
        groupId: request.groupId,
        actor,
        actorProfile: await userProfileOrganisation(this.store, actor.userId),
        now: this.clock.now(),
      } satisfies GroupCommand,
      { metadata: actorMetadata(actor, request.requestId) },
    );
    // Read-your-writes for the lists (GET /v1/groups): the answer itself is folded from the
    // stream, so a read model that is behind delays it at most the wait, and never fails it.
    if (outcome.appended)
      await this.projections.awaitApplied(GROUP_ACTIVITY_READ_MODEL, outcome.appended.position);
    return {
      state: outcome.state,
      created: outcome.events[0]?.type === 'GroupCreated',
    };
  }
}

@CommandHandler(PutGroupCommand)
export class PutGroupHandler
  extends GroupCommandHandler
  implements ICommandHandler<PutGroupCommand, PutGroupResult>
{
  async execute(command: PutGroupCommand): Promise<PutGroupResult> {
    const { request } = command;
    const { state, created } = await this.run(command, {
      type: 'PutGroupSnapshot',
      organisationId: request.organisationId ?? null,
      name: request.name,
      description: request.description ?? null,
      members: request.members.map((member) => ({
        userId: member.userId,
        role: member.role ?? 'member',
        status: member.status ?? 'active',
      })),
      activities: request.activities.map((activity) => ({
        activityId: activity.activityId,
        activityType: activity.activityType,
      })),
    });
    return { view: groupView(state), created };
  }
}

@CommandHandler(AddGroupMemberCommand)
export class AddGroupMemberHandler
  extends GroupCommandHandler
  implements ICommandHandler<AddGroupMemberCommand, GroupView>
{
  async execute(command: AddGroupMemberCommand): Promise<GroupView> {
    const { state } = await this.run(command, {
      type: 'AddGroupMember',
      userId: command.userId,
      role: command.request.role ?? 'member',
      status: command.request.status ?? 'active',
    });
    return groupView(state);
  }
}

@CommandHandler(RemoveGroupMemberCommand)
export class RemoveGroupMemberHandler
  extends GroupCommandHandler
  implements ICommandHandler<RemoveGroupMemberCommand, void>
{
  async execute(command: RemoveGroupMemberCommand): Promise<void> {
    await this.run(command, {
      type: 'RemoveGroupMember',
      userId: command.userId,
    });
  }
}

@CommandHandler(AddGroupActivityCommand)
export class AddGroupActivityHandler
  extends GroupCommandHandler
  implements ICommandHandler<AddGroupActivityCommand, GroupView>
{
  async execute(command: AddGroupActivityCommand): Promise<GroupView> {
    const { state } = await this.run(command, {
      type: 'AddGroupActivity',
      activityId: command.activityId,
      activityType: command.request.activityType,
    });
    return groupView(state);
  }
}

@CommandHandler(RemoveGroupActivityCommand)
export class RemoveGroupActivityHandler
  extends GroupCommandHandler
  implements ICommandHandler<RemoveGroupActivityCommand, void>
{
  async execute(command: RemoveGroupActivityCommand): Promise<void> {
    await this.run(command, {
      type: 'RemoveGroupActivity',
      activityId: command.activityId,
    });
  }
}

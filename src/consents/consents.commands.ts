import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CONSENTS_READ_MODEL } from '../../projections/consents/consents.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { actorOf, Principal } from '../auth/principal';
import { courseDecider } from '../courses/course.decider';
import { courseStream } from '../courses/course.events';
import { HubError } from '../errors/hub-error';
import { handleCommand, loadState } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { userProfileOrganisation } from '../users/users.lookups';
import { EVENT_STORE, EventStore, Position } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import {
  ConsentCommand,
  consentDecider,
  ConsentCourseFacts,
  consentKey,
  ConsentState,
  resolveConsumer,
} from './consent.decider';
import { consentStream } from './consent.events';
import { ConsentView } from './consents.dto';

export class GrantConsentCommand extends Command<ConsentView> {
  constructor(
    readonly userId: string,
    readonly courseId: string,
    readonly consumerOrganisationId: string | undefined,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class RevokeConsentCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly courseId: string,
    readonly consumerOrganisationId: string | undefined,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

type ConsentRequest = GrantConsentCommand | RevokeConsentCommand;

/** Looks up the course, runs the decider on the user's consent stream, waits for the read model. */
@Injectable()
abstract class ConsentCommandHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    protected readonly projections: ProjectionEngine,
  ) {}

  protected async run(
    type: ConsentCommand['type'],
    request: ConsentRequest,
  ): Promise<{ state: ConsentState; consumerOrganisationId: string | null }> {
    const { userId, courseId, principal, requestId } = request;
    const { state: courseState } = await loadState(
      this.store,
      courseStream(courseId),
      courseDecider,
    );
    const course: ConsentCourseFacts | null = courseState.exists
      ? { courseId: courseState.courseId, organisationId: courseState.organisationId }
      : null;
    const actor = actorOf(principal);
    const consumerOrganisationId = request.consumerOrganisationId ?? null;
    const outcome = await handleCommand(
      this.store,
      consentStream(userId),
      consentDecider,
      {
        type,
        userId,
        courseId,
        consumerOrganisationId,
        course,
        actor,
        profile: await userProfileOrganisation(this.store, userId),
        now: this.clock.now(),
      },
      { metadata: actorMetadata(actor, requestId) },
    );
    if (outcome.appended) await this.settle(outcome.appended.position);
    return {
      state: outcome.state,
      consumerOrganisationId: course && resolveConsumer(consumerOrganisationId, course),
    };
  }

  // Read-your-writes: the caller's next GET of the list shows what this request recorded.
  private async settle(position: Position): Promise<void> {
    await this.projections.awaitApplied(CONSENTS_READ_MODEL, position);
  }
}

@CommandHandler(GrantConsentCommand)
export class GrantConsentHandler
  extends ConsentCommandHandler
  implements ICommandHandler<GrantConsentCommand, ConsentView>
{
  async execute(command: GrantConsentCommand): Promise<ConsentView> {
    const { state, consumerOrganisationId } = await this.run('GrantConsent', command);
    const consent =
      consumerOrganisationId === null
        ? undefined
        : state.get(consentKey(command.courseId, consumerOrganisationId));
    // Unreachable while the decider refuses unknown courses and records every grant it allows.
    if (consumerOrganisationId === null || !consent?.granted)
      throw new HubError('internal', 'INTERNAL', 'The granted consent is missing from its stream');
    return {
      userId: command.userId,
      courseId: command.courseId,
      consumerOrganisationId,
      status: 'granted',
      grantedAt: consent.at,
    };
  }
}

@CommandHandler(RevokeConsentCommand)
export class RevokeConsentHandler
  extends ConsentCommandHandler
  implements ICommandHandler<RevokeConsentCommand, void>
{
  async execute(command: RevokeConsentCommand): Promise<void> {
    await this.run('RevokeConsent', command);
  }
}

import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { USERS_READ_MODEL } from '../../projections/users/users.query';
import { actorOf, Principal } from '../auth/principal';
import { handleCommand, loadState } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { PersonalDataVault } from './personal-data-vault';
import { assertMayErase, assertMayRecordProfile, userDecider } from './user.decider';
import { userStream } from './user.events';
import { UserProfileRequest } from './users.dto';

export class RecordUserProfileCommand extends Command<{ changed: boolean }> {
  constructor(
    readonly userId: string,
    readonly profile: UserProfileRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class ErasePersonalDataCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

const blankToNull = (value: string | undefined): string | null =>
  value === undefined || value.trim() === '' ? null : value.trim();

@CommandHandler(RecordUserProfileCommand)
export class RecordUserProfileHandler implements ICommandHandler<
  RecordUserProfileCommand,
  { changed: boolean }
> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly vault: PersonalDataVault,
    private readonly projections: ProjectionEngine,
  ) {}

  async execute({ userId, profile, principal, requestId }: RecordUserProfileCommand) {
    const actor = actorOf(principal);
    const organisationId = profile.organisationId ?? null;
    const stream = userStream(userId);
    // Authorise before a key is made for the user, so refused requests leave nothing behind.
    // The decider decides again on the state it appends to.
    assertMayRecordProfile(
      actor,
      (await loadState(this.store, stream, userDecider)).state,
      organisationId,
      userId,
    );
    const personal = {
      name: blankToNull(profile.name),
      email: blankToNull(profile.email),
      phone: blankToNull(profile.phone),
      externalId: blankToNull(profile.externalId),
    };
    const hasPersonal = Object.values(personal).some((value) => value !== null);
    const sealed = hasPersonal ? await this.vault.seal(userId, personal) : null;
    const outcome = await handleCommand(
      this.store,
      stream,
      userDecider,
      {
        type: 'RecordUserProfile',
        userId,
        organisationId,
        personal: sealed?.sealed ?? null,
        personalDigest: sealed?.digest ?? null,
        attributes: {
          userType: blankToNull(profile.userType),
          userSubType: blankToNull(profile.userSubType),
          state: blankToNull(profile.state),
          district: blankToNull(profile.district),
          block: blankToNull(profile.block),
          cluster: blankToNull(profile.cluster),
          schoolId: blankToNull(profile.schoolId),
          schoolName: blankToNull(profile.schoolName),
          organisationName: blankToNull(profile.organisationName),
        },
        actor,
        now: this.clock.now(),
      },
      { metadata: actorMetadata(actor, requestId) },
    );
    // The answer is the profile as its view shows it.
    if (outcome.appended)
      await this.projections.ensureApplied(
        USERS_READ_MODEL,
        outcome.appended.position,
        `/v1/users/${userId}/profile`,
      );
    return { changed: outcome.appended !== null };
  }
}

@CommandHandler(ErasePersonalDataCommand)
export class ErasePersonalDataHandler implements ICommandHandler<ErasePersonalDataCommand, void> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly vault: PersonalDataVault,
    private readonly projections: ProjectionEngine,
  ) {}

  async execute({ userId, principal, requestId }: ErasePersonalDataCommand) {
    const actor = actorOf(principal);
    const stream = userStream(userId);
    assertMayErase(actor, (await loadState(this.store, stream, userDecider)).state, userId);
    // The key goes first: once it is gone, nothing (read model, rebuild, backup) can open the
    // data, whether or not the event below is recorded. A retry records it.
    await this.vault.erase(userId);
    const outcome = await handleCommand(
      this.store,
      stream,
      userDecider,
      { type: 'ErasePersonalData', userId, actor, now: this.clock.now() },
      { metadata: actorMetadata(actor, requestId) },
    );
    if (outcome.appended)
      await this.projections.awaitApplied(USERS_READ_MODEL, outcome.appended.position);
  }
}

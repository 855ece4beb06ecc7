import { Inject, Module } from '@nestjs/common';
import { Command, CommandHandler, CqrsModule, ICommandHandler } from '@nestjs/cqrs';
import { Actor, Role } from '../auth/principal';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { AppendResult, EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock, systemClock } from '../time/clock';
import { apiKeyDecider } from './api-key.decider';
import { apiKeyStream } from './api-key.events';
import { newApiKeyToken } from './api-key-token';

export interface ApiKeyRequest {
  principalId: string;
  organisationId: string;
  roles: Role[];
  label: string;
}

export interface IssuedApiKey extends ApiKeyRequest {
  keyId: string;
  /** The credential itself: returned once, never stored. */
  token: string;
  issuedAt: string;
  appended: AppendResult | null;
}

export class IssueApiKeyCommand extends Command<IssuedApiKey> {
  constructor(
    readonly request: ApiKeyRequest,
    readonly actor: Actor,
    readonly requestId?: string,
  ) {
    super();
  }
}

/** Answers what was appended: null when the key was revoked already. */
export class RevokeApiKeyCommand extends Command<AppendResult | null> {
  constructor(
    readonly keyId: string,
    readonly actor: Actor,
    readonly requestId?: string,
  ) {
    super();
  }
}

@CommandHandler(IssueApiKeyCommand)
export class IssueApiKeyHandler implements ICommandHandler<IssueApiKeyCommand, IssuedApiKey> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ request, actor, requestId }: IssueApiKeyCommand): Promise<IssuedApiKey> {
    const now = this.clock.now();
    const { keyId, token, secretHash } = newApiKeyToken();
    const outcome = await handleCommand(
      this.store,
      apiKeyStream(keyId),
      apiKeyDecider,
      { type: 'IssueApiKey', keyId, secretHash, ...request, actor, now },
      { metadata: actorMetadata(actor, requestId) },
    );
    return {
      keyId,
      token,
      ...request,
      roles: [...new Set(request.roles)],
      issuedAt: now.toISOString(),
      appended: outcome.appended,
    };
  }
}

@CommandHandler(RevokeApiKeyCommand)
export class RevokeApiKeyHandler implements ICommandHandler<
  RevokeApiKeyCommand,
  AppendResult | null
> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ keyId, actor, requestId }: RevokeApiKeyCommand): Promise<AppendResult | null> {
    const outcome = await handleCommand(
      this.store,
      apiKeyStream(keyId),
      apiKeyDecider,
      { type: 'RevokeApiKey', keyId, actor, now: this.clock.now() },
      { metadata: actorMetadata(actor, requestId) },
    );
    return outcome.appended;
  }
}

export const API_KEY_COMMAND_HANDLERS = [IssueApiKeyHandler, RevokeApiKeyHandler];

/**
 * The api-keys commands on an event store the caller opened, without the HTTP app: how the CLI
 * runs them through the same CommandBus as the API when no hub holds the store.
 */
@Module({})
export class ApiKeyCommandsModule {
  static on(store: EventStore) {
    return {
      module: ApiKeyCommandsModule,
      imports: [CqrsModule.forRoot()],
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: CLOCK, useValue: systemClock },
        ...API_KEY_COMMAND_HANDLERS,
      ],
    };
  }
}

import { Inject } from '@nestjs/common';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { JOB_REQUESTS_READ_MODEL } from '../../projections/job-requests/job-requests.query';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Actor, actorOf, Principal } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { managesBatch } from '../enrolments/enrolment.decider';
import { ForbiddenError, InvalidInputError } from '../errors/hub-error';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { Jobs } from '../jobs/jobs';
import { calendarDateIn } from '../time/calendar';
import { CLOCK, Clock } from '../time/clock';
import { EXHAUST_JOB, ExhaustJobPayload } from './exhaust-job';
import {
  exhaustRequestDecider,
  exhaustRequestId,
  ExhaustRequestState,
  MAX_BATCHES_PER_REQUEST,
} from './exhaust-request.decider';
import { exhaustRequestStream } from './exhaust-request.events';
import { ExhaustSecrets } from './exhaust-secrets';
import { ExhaustSources } from './exhaust-sources';
import { ExhaustType } from './reports/exhaust-types';

export interface ExhaustRequestInput {
  type: ExhaustType;
  batchIds: string[];
  encryptionKey: string | null;
  tag: string | null;
}

export interface ExhaustRequestOutcome {
  state: Extract<ExhaustRequestState, { exists: true }>;
  /** A new request, rather than one asked for earlier today (answered as it stands). */
  created: boolean;
}

/** POST /v1/jobs: a report of batches, made in the background and mailed when ready. */
export class RequestExhaustCommand extends Command<ExhaustRequestOutcome> {
  constructor(
    readonly input: ExhaustRequestInput,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

const refuse = (message: string, field: string) =>
  new InvalidInputError(message, [{ field, message }], 'INVALID_EXHAUST_REQUEST');

@CommandHandler(RequestExhaustCommand)
export class RequestExhaustHandler implements ICommandHandler<
  RequestExhaustCommand,
  ExhaustRequestOutcome
> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly sources: ExhaustSources,
    private readonly secrets: ExhaustSecrets,
    private readonly jobs: Jobs,
    private readonly projections: ProjectionEngine,
  ) {}

  async execute({
    input,
    principal,
    requestId,
  }: RequestExhaustCommand): Promise<ExhaustRequestOutcome> {
    const actor = actorOf(principal);
    const batchIds = [...new Set(input.batchIds)];
    this.check(input, batchIds);
    await this.authorise(actor, batchIds);
    const now = this.clock.now();
    const tag = `${input.tag ?? batchIds.join('_')}:${actor.organisationId}`;
    const id = exhaustRequestId({
      tag,
      type: input.type,
      requestedBy: actor.userId,
      organisationId: actor.organisationId,
      day: calendarDateIn(now, this.config.timeZone),
    });
    const outcome = await handleCommand(
      this.store,
      exhaustRequestStream(id),
      exhaustRequestDecider,
      {
        type: 'RequestExhaust',
        request: {
          requestId: id,
          tag,
          type: input.type,
          batchIds,
          requestedBy: actor.userId,
          organisationId: actor.organisationId,
          encrypted: input.encryptionKey !== null,
          requestedAt: now.toISOString(),
        },
      },
      { metadata: actorMetadata(actor, requestId) },
    );
    const state = outcome.state;
    if (!state.exists) throw new Error('A report request recorded nothing');
    // Read-your-writes: the list shows the request once this answers.
    if (outcome.appended)
      await this.projections.awaitApplied(JOB_REQUESTS_READ_MODEL, outcome.appended.position);
    const [event] = outcome.events;
    if (event?.type === 'ExhaustRequested') await this.enqueue(id, actor, input, batchIds);
    if (event?.type === 'ExhaustResubmitted') await this.resubmit(id, actor, input, batchIds);
    return { state, created: event?.type === 'ExhaustRequested' };
  }

  private check(input: ExhaustRequestInput, batchIds: string[]): void {
    if (batchIds.length === 0) throw refuse('Name a batch: batchId or batchIds', 'batchIds');
    // Personal data leaves the hub only in an encrypted file.
    if (input.type === 'userinfo-exhaust' && input.encryptionKey === null)
      throw refuse('A user-info report needs an encryptionKey', 'encryptionKey');
    if (batchIds.length > MAX_BATCHES_PER_REQUEST)
      throw refuse(
        `Number of batches in request exceeded. It should be within ${MAX_BATCHES_PER_REQUEST}`,
        'batchIds',
      );
  }

  /** Every known batch must be the requester's to report on; unknown ones are skipped later. */
  private async authorise(actor: Actor, batchIds: string[]): Promise<void> {
    for (const batchId of batchIds) {
      const batch = await this.sources.batch(batchId, actor.organisationId);
      // The reference's rule: a batch's creator, its mentors, and admins of its organisation.
      if (batch && !managesBatch(actor, batch.ownership))
        throw new ForbiddenError(
          'UNAUTHORIZED_USER',
          `Only the batch's creator, its mentors and admins of its organisation may ask for its reports`,
          { batchId },
        );
    }
  }

  private async payload(input: ExhaustRequestInput, batchIds: string[]) {
    const sealedKey =
      input.encryptionKey === null ? null : await this.secrets.seal(input.encryptionKey);
    const payload: ExhaustJobPayload = { type: input.type, batchIds, sealedKey };
    return payload;
  }

  private async enqueue(id: string, actor: Actor, input: ExhaustRequestInput, batchIds: string[]) {
    await this.jobs.enqueue({
      id,
      kind: EXHAUST_JOB,
      organisationId: actor.organisationId,
      requestedBy: actor.userId,
      payload: await this.payload(input, batchIds),
    });
  }

  /** A failed request asked for again: its job runs once more, with the key given now. */
  private async resubmit(id: string, actor: Actor, input: ExhaustRequestInput, batchIds: string[]) {
    const requeued = await this.jobs.requeue(id, await this.payload(input, batchIds));
    if (!requeued) await this.enqueue(id, actor, input, batchIds);
  }
}

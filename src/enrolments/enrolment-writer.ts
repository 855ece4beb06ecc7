import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { newUlid } from '../ids/ulid';
import { ENROLMENTS_READ_MODEL } from '../../projections/enrolments/enrolments.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { Actor, HUB_SYSTEM_ACTOR } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { CommandOutcome, handleCommand, loadState } from '../event-sourcing/command-handler';
import { StateCache } from '../event-sourcing/state-cache';
import { EVENT_STORE, EventMetadata, EventStore, Position } from '../event-store/event-store.port';
import { MemoryRoom } from '../jobs/memory-room';
import { CLOCK, Clock } from '../time/clock';
import {
  certificateDue,
  EnrolmentCommand,
  enrolmentDecider,
  EnrolmentState,
  IssueCertificate,
} from './enrolment.decider';
import { EnrolmentEvent, enrolmentStream } from './enrolment.events';
import { EnrolmentLookups } from './enrolment-lookups';

export type EnrolmentOutcome = CommandOutcome<EnrolmentEvent, EnrolmentState>;

/**
 * Heap bytes per part of a cached enrolment, measured (Node 20, heapUsed after a full GC, 5,000
 * states folded from parsed events as the store returns them): a just-enrolled one with its map
 * slot, stream name and revision ~650 B, each course unit's progress 8 B, each content ~90 B
 * (~140 B each from 20 on, when V8 turns the contents object into a dictionary), each attempt
 * ~400 B (its record, submittedAt, digest and attempt id), a certificate ~140 B. For the
 * 100,000 enrolments of the report benchmark's set-up this says 108 MiB where the heap holds 104
 * (its heap snapshot: 101 MiB). Erring high keeps the budget a bound.
 */
const ENROLMENT_BASE_BYTES = 650;
const UNIT_BYTES = 8;
const CONTENT_BYTES = 90;
const DICTIONARY_CONTENT_BYTES = 140;
const DICTIONARY_FROM = 20;
const ATTEMPT_BYTES = 400;
const CERTIFICATE_BYTES = 140;
const MIB = 1024 * 1024;

const countKeys = (record: object): number => {
  let count = 0;
  for (const key in record) if (Object.hasOwn(record, key)) count++;
  return count;
};

/** What one cached enrolment weighs, by counting what it holds (no serializing on each set). */
export const estimateEnrolmentBytes = (state: EnrolmentState): number => {
  if (!state.exists) return ENROLMENT_BASE_BYTES;
  const contents = countKeys(state.contents);
  let attempts = 0;
  for (const contentId in state.attempts) attempts += countKeys(state.attempts[contentId] ?? {});
  return (
    ENROLMENT_BASE_BYTES +
    UNIT_BYTES * countKeys(state.progress?.units ?? {}) +
    contents * (contents < DICTIONARY_FROM ? CONTENT_BYTES : DICTIONARY_CONTENT_BYTES) +
    ATTEMPT_BYTES * attempts +
    (state.certificate === null ? 0 : CERTIFICATE_BYTES)
  );
};

/**
 * Runs enrolment commands through the one command handler, with this instance's cache of
 * enrolment states, and issues the certificate when a command leaves an enrolment meeting its
 * batch's criteria.
 */
@Injectable()
export class EnrolmentWriter implements OnModuleDestroy {
  private readonly cache: StateCache<EnrolmentState>;
  private readonly leaveMemoryRoom: () => void;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly lookups: EnrolmentLookups,
    private readonly projections: ProjectionEngine,
    @Optional() memoryRoom?: MemoryRoom,
  ) {
    this.cache = new StateCache(config.stateCacheSize, {
      maxBytes: config.stateCacheMb * MIB,
      sizeOf: estimateEnrolmentBytes,
    });
    const reportBytes = Math.min(config.stateCacheReportMb, config.stateCacheMb) * MIB;
    this.leaveMemoryRoom =
      memoryRoom?.register({
        shrink: () => this.cache.limitBytes(reportBytes),
        restore: () => this.cache.limitBytes(undefined),
      }) ?? (() => undefined);
  }

  onModuleDestroy(): void {
    this.leaveMemoryRoom();
  }

  /** Enrolment states this instance keeps (for operators and tests). */
  get cachedStates(): number {
    return this.cache.size;
  }

  async execute(
    command: EnrolmentCommand,
    metadata: EventMetadata,
    options: { assumeNew?: boolean } = {},
  ): Promise<EnrolmentOutcome> {
    const stream = enrolmentStream(command.batchId, command.userId);
    const outcome = await handleCommand(this.store, stream, enrolmentDecider, command, {
      metadata,
      cache: this.cache,
      ...(options.assumeNew ? { assumeNew: true } : {}),
    });
    if (command.type !== 'RecordProgress' && command.type !== 'RecordAssessmentAttempt')
      return outcome;
    const { batch, course } = command;
    if (!batch || !certificateDue(outcome.state, course, batch.certificateCriteria, command.policy))
      return outcome;
    const { batchId, userId, policy } = command;
    const certificate = await this.issueCertificate(
      { batchId, batch, userId, course, policy },
      metadata,
    );
    return {
      events: [...outcome.events, ...certificate.events],
      state: certificate.state,
      appended: certificate.appended ?? outcome.appended,
    };
  }

  /**
   * Issues the certificate if the enrolment meets its batch's criteria. Automatic issuing acts as
   * the hub itself; a mentor or admin asking again (after a failure) acts as themselves.
   */
  async issueCertificate(
    command: Pick<IssueCertificate, 'batchId' | 'batch' | 'userId' | 'course' | 'policy'> & {
      actor?: Actor;
    },
    metadata: EventMetadata,
  ): Promise<EnrolmentOutcome> {
    const actor = command.actor ?? HUB_SYSTEM_ACTOR;
    return handleCommand(
      this.store,
      enrolmentStream(command.batchId, command.userId),
      enrolmentDecider,
      {
        type: 'IssueCertificate',
        actor,
        now: this.clock.now(),
        batchId: command.batchId,
        batch: command.batch,
        userId: command.userId,
        course: command.course,
        certificateId: newUlid(),
        recipient: await this.lookups.recipient(command.userId),
        policy: command.policy,
      },
      {
        metadata: command.actor
          ? metadata
          : { ...metadata, principal: actor.userId, causedBy: metadata.principal },
        cache: this.cache,
      },
    );
  }

  /** The enrolment as its stream stands now (the events since the cached state, if any). */
  async current(batchId: string, userId: string): Promise<EnrolmentState> {
    const stream = enrolmentStream(batchId, userId);
    const latest = await loadState(this.store, stream, enrolmentDecider, this.cache.get(stream));
    this.cache.set(stream, latest);
    return latest.state;
  }

  /**
   * Read-your-writes: returns once the enrolments read model shows the appended events. When the
   * answer is that read model's view (at `location`), a view that does not get there in time is
   * a ViewBehindError; otherwise the lists simply follow a moment later.
   */
  async settle(
    positions: readonly (Position | undefined)[],
    location: string | null = null,
  ): Promise<void> {
    let last: Position | undefined;
    for (const position of positions) if (position && (!last || position > last)) last = position;
    if (!last) return;
    if (location === null) await this.projections.awaitApplied(ENROLMENTS_READ_MODEL, last);
    else await this.projections.ensureApplied(ENROLMENTS_READ_MODEL, last, location);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { newUlid } from '../ids/ulid';
import { BATCH_STATUS_READ_MODEL } from '../../projections/batch-status/batch-status.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { actorOf, Principal } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { courseDecider } from '../courses/course.decider';
import { courseStream } from '../courses/course.events';
import { handleCommand, loadState } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { userDecider } from '../users/user.decider';
import { userStream } from '../users/user.events';
import { calendarDateIn } from '../time/calendar';
import { CLOCK, Clock } from '../time/clock';
import { batchDecider, BatchPatch, CourseFacts, KnownUsers } from './batch.decider';
import { batchStream, CertificateCriteria, DEFAULT_CERTIFICATE_CRITERIA } from './batch.events';
import { defaultEnrollmentEnd, resolveEnd, resolveStart } from './batch-schedule';
import { CertificateCriteriaDto, CreateBatchRequest, UpdateBatchRequest } from './batches.dto';

export class CreateBatchCommand extends Command<string> {
  constructor(
    readonly request: CreateBatchRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class UpdateBatchCommand extends Command<void> {
  constructor(
    readonly batchId: string,
    readonly request: UpdateBatchRequest,
    readonly principal: Principal,
    readonly requestId: string,
    readonly ifRevision: bigint | undefined,
  ) {
    super();
  }
}

/** The criteria given over `base`; a score rule not given stays as it was (defaulted or not). */
const criteria = (
  given: CertificateCriteriaDto | undefined,
  base: CertificateCriteria,
): CertificateCriteria => {
  const minScorePercent = given?.minScorePercent;
  return {
    minCompletionPercent: given?.minCompletionPercent ?? base.minCompletionPercent,
    minScorePercent: minScorePercent === undefined ? base.minScorePercent : minScorePercent,
    scoreRuleDefaulted: minScorePercent === undefined && base.scoreRuleDefaulted === true,
  };
};

/** Shared dependencies and lookups: what the decider needs beyond the batch's own stream. */
@Injectable()
abstract class BatchCommandHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    @Inject(HUB_CONFIG) protected readonly config: HubConfig,
    protected readonly projections: ProjectionEngine,
  ) {}

  protected async knownUsers(userIds: readonly string[] | undefined): Promise<KnownUsers> {
    const known: Record<string, string | null> = {};
    for (const userId of new Set(userIds ?? [])) {
      const { state } = await loadState(this.store, userStream(userId), userDecider);
      known[userId] = state.exists ? state.organisationId : null;
    }
    return known;
  }

  /** Read-your-writes: the batch's view (which the answer is) shows what was just recorded. */
  protected async settle(
    batchId: string,
    position: Parameters<ProjectionEngine['awaitApplied']>[1] | undefined,
  ) {
    if (position)
      await this.projections.ensureApplied(
        BATCH_STATUS_READ_MODEL,
        position,
        `/v1/batches/${batchId}`,
      );
  }
}

@CommandHandler(CreateBatchCommand)
export class CreateBatchHandler
  extends BatchCommandHandler
  implements ICommandHandler<CreateBatchCommand, string>
{
  async execute({ request, principal, requestId }: CreateBatchCommand): Promise<string> {
    const zone = this.config.timeZone;
    const start = resolveStart(request.startDate, zone);
    const end = request.endDate === undefined ? null : resolveEnd(request.endDate, zone);
    const enrollmentEnd =
      request.enrollmentEndDate === undefined
        ? null
        : resolveEnd(request.enrollmentEndDate, zone, 'enrollmentEndDate');
    const { state: course } = await loadState(
      this.store,
      courseStream(request.courseId),
      courseDecider,
    );
    const courseFacts: CourseFacts | null = course.exists
      ? {
          courseId: course.courseId,
          organisationId: course.organisationId,
          createdBy: course.createdBy,
        }
      : null;
    const batchId = request.batchId ?? newUlid();
    const actor = actorOf(principal);
    const now = this.clock.now();
    const outcome = await handleCommand(
      this.store,
      batchStream(batchId),
      batchDecider,
      {
        type: 'CreateBatch',
        batchId,
        course: courseFacts,
        name: request.name,
        description: request.description ?? null,
        enrollmentType: request.enrollmentType,
        start,
        end,
        enrollmentEnd,
        defaultEnrollmentEnd: defaultEnrollmentEnd(start, end, zone),
        createdFor: request.createdFor ?? null,
        mentors: request.mentors ?? [],
        invitees: request.invitees ?? [],
        certificateCriteria: criteria(request.certificateCriteria, DEFAULT_CERTIFICATE_CRITERIA),
        lmsResourceLink: request.lmsResourceLink ?? null,
        knownUsers: await this.knownUsers(request.mentors),
        actor,
        now,
        today: calendarDateIn(now, zone),
      },
      { metadata: actorMetadata(actor, requestId) },
    );
    await this.settle(batchId, outcome.appended?.position);
    return batchId;
  }
}

@CommandHandler(UpdateBatchCommand)
export class UpdateBatchHandler
  extends BatchCommandHandler
  implements ICommandHandler<UpdateBatchCommand, void>
{
  async execute({ batchId, request, principal, requestId, ifRevision }: UpdateBatchCommand) {
    const zone = this.config.timeZone;
    const patch: BatchPatch = {};
    if (request.name !== undefined) patch.name = request.name;
    if (request.description !== undefined) patch.description = request.description;
    if (request.enrollmentType !== undefined) patch.enrollmentType = request.enrollmentType;
    if (request.startDate !== undefined) patch.start = resolveStart(request.startDate, zone);
    if (request.endDate !== undefined) patch.end = resolveEnd(request.endDate, zone);
    if (request.enrollmentEndDate !== undefined)
      patch.enrollmentEnd = resolveEnd(request.enrollmentEndDate, zone, 'enrollmentEndDate');
    if (request.createdFor !== undefined) patch.createdFor = request.createdFor;
    if (request.mentors !== undefined) patch.mentors = request.mentors;
    if (request.invitees !== undefined) patch.invitees = request.invitees;
    if (request.lmsResourceLink !== undefined) patch.lmsResourceLink = request.lmsResourceLink;
    const { state } = await loadState(this.store, batchStream(batchId), batchDecider);
    if (request.certificateCriteria !== undefined)
      patch.certificateCriteria = criteria(
        request.certificateCriteria,
        state.exists ? state.certificateCriteria : DEFAULT_CERTIFICATE_CRITERIA,
      );
    if (patch.end && state.exists) {
      const start = patch.start ?? {
        ...state.start,
        day: calendarDateIn(new Date(state.start.at), zone),
      };
      patch.defaultEnrollmentEnd = defaultEnrollmentEnd(start, patch.end, zone);
    }
    const actor = actorOf(principal);
    const now = this.clock.now();
    const outcome = await handleCommand(
      this.store,
      batchStream(batchId),
      batchDecider,
      {
        type: 'UpdateBatch',
        batchId,
        patch,
        knownUsers: await this.knownUsers(request.mentors),
        actor,
        now,
        today: calendarDateIn(now, zone),
      },
      {
        metadata: actorMetadata(actor, requestId),
        ...(ifRevision === undefined ? {} : { ifRevision }),
      },
    );
    await this.settle(batchId, outcome.appended?.position);
  }
}

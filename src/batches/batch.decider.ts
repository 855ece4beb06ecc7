import { ErrorCode } from '../errors/error-codes';
import { Actor, isAdminOf, isSystemAdmin } from '../auth/principal';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../errors/hub-error';
import { sameJson } from '../event-sourcing/canonical-json';
import { Decider } from '../event-sourcing/decider';
import {
  applyBatchChanges,
  BatchBoundary,
  BatchDetails,
  BatchEvent,
  BatchStatus,
  CertificateCriteria,
  EnrollmentType,
} from './batch.events';

/** What a batch command needs to know about the course: looked up before deciding. */
export interface CourseFacts {
  courseId: string;
  organisationId: string;
  createdBy: string;
}

/** A boundary as the handler resolved it, with the calendar day it falls on in the hub's zone. */
export interface ResolvedBoundary extends BatchBoundary {
  day: string;
}

/** Organisation of each user named as a mentor; null for users the hub does not know. */
export type KnownUsers = Readonly<Record<string, string | null>>;

interface Clocked {
  actor: Actor;
  now: Date;
  /** Today's date in the hub's time zone. */
  today: string;
}

export type CreateBatch = Clocked & {
  type: 'CreateBatch';
  batchId: string;
  course: CourseFacts | null;
  name: string;
  description: string | null;
  enrollmentType: EnrollmentType;
  start: ResolvedBoundary;
  end: ResolvedBoundary | null;
  enrollmentEnd: ResolvedBoundary | null;
  /** Used when enrollmentEnd is not given: the day before the end date. */
  defaultEnrollmentEnd: ResolvedBoundary | null;
  createdFor: string[] | null;
  mentors: string[];
  invitees: string[];
  certificateCriteria: CertificateCriteria;
  lmsResourceLink: string | null;
  knownUsers: KnownUsers;
};

export interface BatchPatch {
  name?: string;
  description?: string | null;
  enrollmentType?: EnrollmentType;
  start?: ResolvedBoundary;
  end?: ResolvedBoundary;
  enrollmentEnd?: ResolvedBoundary;
  /** The default enrollment end for the patched end date, if the end changes. */
  defaultEnrollmentEnd?: ResolvedBoundary | null;
  createdFor?: string[];
  mentors?: string[];
  invitees?: string[];
  certificateCriteria?: CertificateCriteria;
  lmsResourceLink?: string | null;
}

export type UpdateBatch = Clocked & {
  type: 'UpdateBatch';
  batchId: string;
  patch: BatchPatch;
  knownUsers: KnownUsers;
};

/** Sent by the scheduler at a boundary (and by anyone after downtime): appends what is due. */
export type AdvanceBatchStatus = { type: 'AdvanceBatchStatus'; batchId: string; now: Date };

export type BatchCommand = CreateBatch | UpdateBatch | AdvanceBatchStatus;

export type BatchState =
  | { exists: false }
  | (BatchDetails & {
      exists: true;
      batchId: string;
      courseId: string;
      organisationId: string;
      createdBy: string;
      status: BatchStatus;
    });

type ExistingBatch = Extract<BatchState, { exists: true }>;

export const batchNotFound = (batchId: string) =>
  new NotFoundError('BATCH_NOT_FOUND', `No batch ${batchId}`, { batchId });

const refuse = (code: ErrorCode, message: string, field: string) =>
  new InvalidInputError(message, [{ field, message }], code);

/** Whoever belongs to the batch's organisation or one it was created for may read it. */
export const canReadBatch = (
  actor: Actor,
  batch: { organisationId: string; createdFor: readonly string[] },
) =>
  isSystemAdmin(actor) ||
  actor.organisationId === batch.organisationId ||
  batch.createdFor.includes(actor.organisationId);

const time = (boundary: BatchBoundary | null): number =>
  boundary === null ? Number.POSITIVE_INFINITY : Date.parse(boundary.at);

const plain = ({ given, at }: BatchBoundary): BatchBoundary => ({ given, at });
const plainOrNull = (boundary: BatchBoundary | null): BatchBoundary | null =>
  boundary === null ? null : plain(boundary);

const assertDateOrder = (
  start: BatchBoundary,
  end: BatchBoundary | null,
  enrollmentEnd: BatchBoundary | null,
) => {
  if (end && time(end) <= time(start))
    throw refuse('END_DATE_ERROR', 'End date should be greater than start date', 'endDate');
  if (enrollmentEnd && time(enrollmentEnd) < time(start))
    throw refuse(
      'ENROLLMENT_END_DATE_START_ERROR',
      'Enrollment end date should not be before the batch start date',
      'enrollmentEndDate',
    );
  if (enrollmentEnd && end && time(enrollmentEnd) > time(end))
    throw refuse(
      'ENROLLMENT_END_DATE_END_ERROR',
      'Enrollment end date should not be after the batch end date',
      'enrollmentEndDate',
    );
};

const assertMentors = (mentors: readonly string[], organisationId: string, known: KnownUsers) => {
  for (const mentor of mentors) {
    const organisation = known[mentor];
    if (organisation === undefined || organisation === null)
      throw refuse('INVALID_USER_ID', `Mentor ${mentor} is not a known user`, 'mentors');
    if (organisation !== organisationId)
      throw refuse(
        'USER_NOT_ASSOCIATED_TO_ROOT_ORG',
        `Mentor ${mentor} does not belong to the batch's organisation`,
        'mentors',
      );
  }
};

const assertInvitees = (enrollmentType: EnrollmentType, invitees: readonly string[]) => {
  if (enrollmentType === 'open' && invitees.length > 0)
    throw refuse(
      'INVALID_PARAMETER_VALUE',
      'Invitees are only for invite-only batches',
      'invitees',
    );
};

/** The status the dates imply at `now`. */
const statusAt = (batch: Pick<ExistingBatch, 'start' | 'end'>, now: Date): BatchStatus =>
  now.getTime() < time(batch.start) ? 0 : now.getTime() < time(batch.end) ? 1 : 2;

/** Transition events that bring `batch` from its recorded status to the one its dates imply. */
const transitionsDue = (batch: ExistingBatch, now: Date): BatchEvent[] => {
  const due = statusAt(batch, now);
  const base = { batchId: batch.batchId, courseId: batch.courseId, recordedAt: now.toISOString() };
  const events: BatchEvent[] = [];
  if (batch.status === 0 && due >= 1)
    events.push({ type: 'BatchStarted', data: { ...base, effectiveAt: batch.start.at } });
  if (batch.status < 2 && due === 2 && batch.end)
    events.push({ type: 'BatchEnded', data: { ...base, effectiveAt: batch.end.at } });
  if (batch.status === 2 && due === 1)
    events.push({ type: 'BatchReopened', data: { ...base, effectiveAt: now.toISOString() } });
  return events;
};

const decideCreate = (command: CreateBatch, state: BatchState): BatchEvent[] => {
  const { actor, course } = command;
  if (!course || !(isSystemAdmin(actor) || actor.organisationId === course.organisationId))
    throw refuse(
      'INVALID_COURSE_ID',
      'Course does not exist. Please provide a valid course id',
      'courseId',
    );
  // A mentor, or any other creator, cannot open batches of someone else's course.
  if (actor.userId !== course.createdBy && !isAdminOf(actor, course.organisationId))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Only the course’s creator or an admin creates batches for it',
    );
  if (state.exists)
    throw new ConflictError('BATCH_ALREADY_EXISTS', `Batch ${command.batchId} already exists`, {
      batchId: command.batchId,
    });
  if (command.start.day < command.today)
    throw refuse(
      'COURSE_BATCH_START_DATE_INVALID',
      'Batch start date should be either today or a future date',
      'startDate',
    );
  const enrollmentEnd = command.enrollmentEnd ?? command.defaultEnrollmentEnd;
  assertDateOrder(command.start, command.end, command.enrollmentEnd);
  if (command.end && time(command.end) <= command.now.getTime())
    throw refuse(
      'INVALID_BATCH_END_DATE_ERROR',
      'Please provide a valid end date: in the future',
      'endDate',
    );
  assertMentors(command.mentors, course.organisationId, command.knownUsers);
  assertInvitees(command.enrollmentType, command.invitees);
  const details: BatchDetails = {
    name: command.name,
    description: command.description,
    enrollmentType: command.enrollmentType,
    start: plain(command.start),
    end: plainOrNull(command.end),
    enrollmentEnd: plainOrNull(enrollmentEnd),
    enrollmentEndDefaulted: command.enrollmentEnd === null && enrollmentEnd !== null,
    createdFor: command.createdFor ?? [course.organisationId],
    mentors: [...new Set(command.mentors)],
    invitees: [...new Set(command.invitees)],
    certificateCriteria: command.certificateCriteria,
    ...(command.lmsResourceLink === null ? {} : { lmsResourceLink: command.lmsResourceLink }),
  };
  const created: BatchEvent = {
    type: 'BatchCreated',
    data: {
      ...details,
      batchId: command.batchId,
      courseId: course.courseId,
      organisationId: course.organisationId,
      createdBy: actor.userId,
      createdAt: command.now.toISOString(),
    },
  };
  return [
    created,
    ...transitionsDue(batchDecider.evolve(state, created) as ExistingBatch, command.now),
  ];
};

const assertMayUpdate: (
  command: UpdateBatch,
  state: BatchState,
) => asserts state is ExistingBatch = (command, state) => {
  const { actor } = command;
  if (!state.exists || !(isSystemAdmin(actor) || actor.organisationId === state.organisationId))
    throw batchNotFound(command.batchId);
  if (
    actor.userId !== state.createdBy &&
    !state.mentors.includes(actor.userId) &&
    !isAdminOf(actor, state.organisationId)
  )
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Only the batch’s creator, its mentors or an admin update it',
    );
};

/** A start date changes only before the batch starts, and not into the past. */
const assertStartChange = (command: UpdateBatch, state: ExistingBatch): void => {
  const { patch, now } = command;
  if (!patch.start || patch.start.at === state.start.at) return;
  if (state.status >= 1 || time(state.start) <= now.getTime())
    throw refuse(
      'INVALID_BATCH_START_DATE_ERROR',
      'The batch is in progress: its start date can no longer change',
      'startDate',
    );
  if (patch.start.day < command.today)
    throw refuse(
      'INVALID_BATCH_START_DATE_ERROR',
      'Please provide a valid start date: today or later',
      'startDate',
    );
};

/** An end date moves only into the future, and a closed batch's only later. */
const assertEndChange = (command: UpdateBatch, state: ExistingBatch): void => {
  const { patch, now } = command;
  if (!patch.end || patch.end.at === state.end?.at) return;
  const ended = state.status === 2 || time(state.end) <= now.getTime();
  if (ended && time(patch.end) < time(state.end))
    throw refuse(
      'COURSE_BATCH_END_DATE_ERROR',
      'Batch has been closed: its end date can only be extended',
      'endDate',
    );
  if (time(patch.end) <= now.getTime())
    throw refuse(
      'INVALID_BATCH_END_DATE_ERROR',
      'Please provide a valid end date: in the future',
      'endDate',
    );
};

/** The enrolment end as given, or the default that follows a changed end date. */
const nextEnrollmentEnd = (command: UpdateBatch, state: ExistingBatch) => {
  const { patch, now } = command;
  if (patch.enrollmentEnd) {
    if (
      patch.enrollmentEnd.at !== state.enrollmentEnd?.at &&
      time(patch.enrollmentEnd) < now.getTime()
    )
      throw refuse(
        'ENROLLMENT_END_DATE_UPDATE_ERROR',
        'Invalid enrollment end date: please provide a future date',
        'enrollmentEndDate',
      );
    return { enrollmentEnd: patch.enrollmentEnd, enrollmentEndDefaulted: false };
  }
  const endChanged = patch.end !== undefined && patch.end.at !== state.end?.at;
  if (endChanged && state.enrollmentEndDefaulted && patch.defaultEnrollmentEnd !== undefined)
    return { enrollmentEnd: patch.defaultEnrollmentEnd, enrollmentEndDefaulted: true };
  return {
    enrollmentEnd: state.enrollmentEnd,
    enrollmentEndDefaulted: state.enrollmentEndDefaulted,
  };
};

/** The fields that differ, from and to; an extended end date has an event of its own. */
const changesBetween = (state: ExistingBatch, next: BatchDetails, extended: boolean) => {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of Object.keys(next) as (keyof BatchDetails)[]) {
    if (field === 'end' && extended) continue;
    // `?? null`: a field added later (lmsResourceLink) is absent from older batches.
    if (!sameJson(state[field] ?? null, next[field] ?? null))
      changes[field] = { from: state[field] ?? null, to: next[field] };
  }
  return changes;
};

const decideUpdate = (command: UpdateBatch, state: BatchState): BatchEvent[] => {
  assertMayUpdate(command, state);
  const { actor, patch, now } = command;
  assertStartChange(command, state);
  assertEndChange(command, state);
  const start = patch.start ?? state.start;
  const end = patch.end ?? state.end;
  const { enrollmentEnd, enrollmentEndDefaulted } = nextEnrollmentEnd(command, state);
  assertDateOrder(start, end, enrollmentEnd);
  if (patch.mentors) assertMentors(patch.mentors, state.organisationId, command.knownUsers);
  const enrollmentType = patch.enrollmentType ?? state.enrollmentType;
  if (patch.invitees || patch.enrollmentType)
    assertInvitees(enrollmentType, patch.invitees ?? state.invitees);

  const next: BatchDetails = {
    name: patch.name ?? state.name,
    description: patch.description === undefined ? state.description : patch.description,
    enrollmentType,
    start: plain(start),
    end: plainOrNull(end),
    enrollmentEnd: plainOrNull(enrollmentEnd),
    enrollmentEndDefaulted,
    createdFor: patch.createdFor ?? state.createdFor,
    mentors: patch.mentors ? [...new Set(patch.mentors)] : state.mentors,
    invitees: patch.invitees ? [...new Set(patch.invitees)] : state.invitees,
    certificateCriteria: patch.certificateCriteria ?? state.certificateCriteria,
    lmsResourceLink:
      patch.lmsResourceLink === undefined ? (state.lmsResourceLink ?? null) : patch.lmsResourceLink,
  };
  const extended = end !== null && state.end !== null && time(end) > time(state.end);
  const changes = changesBetween(state, next, extended);
  const events: BatchEvent[] = [];
  const stamp = { batchId: state.batchId, courseId: state.courseId };
  if (Object.keys(changes).length > 0)
    events.push({
      type: 'BatchUpdated',
      data: { ...stamp, changes, updatedBy: actor.userId, updatedAt: now.toISOString() },
    });
  if (extended && state.end && end)
    events.push({
      type: 'BatchEndDateExtended',
      data: {
        ...stamp,
        from: state.end,
        to: plain(end),
        extendedBy: actor.userId,
        extendedAt: now.toISOString(),
      },
    });
  if (events.length === 0) return [];
  const updated = events.reduce(batchDecider.evolve, state) as ExistingBatch;
  return [...events, ...transitionsDue(updated, now)];
};

export const batchDecider: Decider<BatchCommand, BatchEvent, BatchState> = {
  initialState: () => ({ exists: false }),

  decide: (command, state) => {
    switch (command.type) {
      case 'CreateBatch':
        return decideCreate(command, state);
      case 'UpdateBatch':
        return decideUpdate(command, state);
      case 'AdvanceBatchStatus':
        return state.exists ? transitionsDue(state, command.now) : [];
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },

  evolve: (state, event) => {
    if (event.type === 'BatchCreated') {
      const { createdAt: _createdAt, ...batch } = event.data;
      return { ...batch, exists: true, status: 0 };
    }
    if (!state.exists) return state;
    switch (event.type) {
      case 'BatchUpdated':
        return applyBatchChanges(state, event.data.changes);
      case 'BatchEndDateExtended':
        return { ...state, end: event.data.to };
      case 'BatchStarted':
        return { ...state, status: 1 };
      case 'BatchEnded':
        return { ...state, status: 2 };
      case 'BatchReopened':
        return { ...state, status: 1 };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};

/** When the scheduler must next look at a batch: its next boundary, or null when none is left. */
export const nextBoundary = (state: BatchState): Date | null => {
  if (!state.exists) return null;
  if (state.status === 0) return new Date(state.start.at);
  if (state.status === 1 && state.end) return new Date(state.end.at);
  return null;
};

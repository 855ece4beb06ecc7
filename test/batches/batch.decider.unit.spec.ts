import { Actor } from '../../src/auth/principal';
import {
  AdvanceBatchStatus,
  batchDecider,
  BatchPatch,
  CourseFacts,
  CreateBatch,
  KnownUsers,
  nextBoundary,
  UpdateBatch,
} from '../../src/batches/batch.decider';
import { BatchCreated, BatchEvent, BatchDetails } from '../../src/batches/batch.events';
import { defaultEnrollmentEnd, resolveEnd, resolveStart } from '../../src/batches/batch-schedule';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../../src/errors/hub-error';
import { fold } from '../../src/event-sourcing/decider';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(batchDecider);

const TZ = 'UTC';
const ORG = 'org-1';
const OTHER_ORG = 'org-2';
const now = new Date('2026-11-22T10:00:00.000Z');
const NOW = now.toISOString();
const today = '2026-11-22';

const creator: Actor = { userId: 'u-creator', organisationId: ORG, roles: ['CONTENT_CREATOR'] };
const orgAdmin: Actor = { userId: 'u-admin', organisationId: ORG, roles: ['ORG_ADMIN'] };
const systemAdmin: Actor = { userId: 'u-root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
const mentor: Actor = { userId: 'u-mentor', organisationId: ORG, roles: ['COURSE_MENTOR'] };
const otherCreator: Actor = { userId: 'u-writer', organisationId: ORG, roles: ['CONTENT_CREATOR'] };
const outsider: Actor = {
  userId: 'u-outsider',
  organisationId: OTHER_ORG,
  roles: ['CONTENT_CREATOR', 'ORG_ADMIN'],
};

const course: CourseFacts = { courseId: 'course-1', organisationId: ORG, createdBy: 'u-creator' };

const knownUsers: KnownUsers = {
  'u-mentor': ORG,
  'u-mentor-2': ORG,
  'u-foreign': OTHER_ORG,
  'u-ghost': null,
};

const criteria = { minCompletionPercent: 100, minScorePercent: 70 };

const start = resolveStart('2026-12-01', TZ);
const end = resolveEnd('2026-12-31', TZ);
const defaultEnd = defaultEnrollmentEnd(start, end, TZ);

const createBatch = (overrides: Partial<CreateBatch> = {}): CreateBatch => ({
  type: 'CreateBatch',
  actor: creator,
  now,
  today,
  batchId: 'batch-1',
  course,
  name: 'December cohort',
  description: 'Four weeks',
  enrollmentType: 'open',
  start,
  end,
  enrollmentEnd: null,
  defaultEnrollmentEnd: defaultEnd,
  createdFor: null,
  mentors: [],
  invitees: [],
  certificateCriteria: criteria,
  lmsResourceLink: null,
  knownUsers,
  ...overrides,
});

/** The recorded form of a batch: boundaries as given and resolved, without the calendar day. */
const details = (overrides: Partial<BatchDetails> = {}): BatchDetails => ({
  name: 'December cohort',
  description: 'Four weeks',
  enrollmentType: 'open',
  start: { given: '2026-12-01', at: '2026-12-01T00:00:00.000Z' },
  end: { given: '2026-12-31', at: '2027-01-01T00:00:00.000Z' },
  enrollmentEnd: { given: '2026-12-30', at: '2026-12-31T00:00:00.000Z' },
  enrollmentEndDefaulted: true,
  createdFor: [ORG],
  mentors: ['u-mentor'],
  invitees: [],
  certificateCriteria: criteria,
  ...overrides,
});

const batchCreated = (overrides: Partial<BatchDetails> = {}): BatchCreated => ({
  type: 'BatchCreated',
  data: {
    ...details(overrides),
    batchId: 'batch-1',
    courseId: 'course-1',
    organisationId: ORG,
    createdBy: 'u-creator',
    createdAt: '2026-11-01T09:00:00.000Z',
  },
});

const stamp = { batchId: 'batch-1', courseId: 'course-1' };
const started = (effectiveAt: string, recordedAt = effectiveAt): BatchEvent => ({
  type: 'BatchStarted',
  data: { ...stamp, effectiveAt, recordedAt },
});
const ended = (effectiveAt: string, recordedAt = effectiveAt): BatchEvent => ({
  type: 'BatchEnded',
  data: { ...stamp, effectiveAt, recordedAt },
});

const updateBatch = (patch: BatchPatch, actor: Actor = creator): UpdateBatch => ({
  type: 'UpdateBatch',
  actor,
  now,
  today,
  batchId: 'batch-1',
  patch,
  knownUsers,
});

const advance = (at: string): AdvanceBatchStatus => ({
  type: 'AdvanceBatchStatus',
  batchId: 'batch-1',
  now: new Date(at),
});

/** Upcoming: starts 2026-12-01, ends with 2026-12-31; enrolment end defaulted. */
const upcoming = batchCreated();

/** In progress since 2026-11-20. */
const inProgressCreated = batchCreated({
  start: { given: '2026-11-20', at: '2026-11-20T00:00:00.000Z' },
});
const inProgress = [inProgressCreated, started('2026-11-20T00:00:00.000Z')];

/** Ran 2026-11-01 to 2026-11-15 and was closed by the scheduler. */
const closed = [
  batchCreated({
    start: { given: '2026-11-01', at: '2026-11-01T00:00:00.000Z' },
    end: { given: '2026-11-15', at: '2026-11-16T00:00:00.000Z' },
    enrollmentEnd: { given: '2026-11-10', at: '2026-11-11T00:00:00.000Z' },
    enrollmentEndDefaulted: false,
  }),
  started('2026-11-01T00:00:00.000Z'),
  ended('2026-11-16T00:00:00.000Z'),
];

describe('batch schedule: resolving boundaries', () => {
  it('resolves a date-only start to 00:00 of that day and a date-only end to the next midnight', () => {
    expect(resolveStart('2026-12-01', 'UTC')).toEqual({
      given: '2026-12-01',
      at: '2026-12-01T00:00:00.000Z',
      day: '2026-12-01',
    });
    expect(resolveEnd('2026-12-31', 'UTC')).toEqual({
      given: '2026-12-31',
      at: '2027-01-01T00:00:00.000Z',
      day: '2026-12-31',
    });
  });

  it('resolves a date-only start in Asia/Kolkata (UTC+05:30) to 18:30Z the previous day', () => {
    expect(resolveStart('2026-12-01', 'Asia/Kolkata')).toEqual({
      given: '2026-12-01',
      at: '2026-11-30T18:30:00.000Z',
      day: '2026-12-01',
    });
  });

  it('keeps an instant as given and finds its day in the hub zone', () => {
    expect(resolveStart('2026-12-01T02:00:00+05:30', 'UTC')).toEqual({
      given: '2026-12-01T02:00:00+05:30',
      at: '2026-11-30T20:30:00.000Z',
      day: '2026-11-30',
    });
    expect(resolveStart('2026-12-01T02:00:00+05:30', 'Asia/Kolkata').day).toBe('2026-12-01');
  });

  it('refuses a value that is neither a date nor an instant with an offset', () => {
    expect(() => resolveStart('2026-12-01T00:00:00', 'UTC')).toThrow(
      expect.objectContaining({ code: 'DATE_FORMAT_ERROR' }),
    );
    expect(() => resolveEnd('31/12/2026', 'UTC', 'enrollmentEndDate')).toThrow(InvalidInputError);
  });

  it('defaults the enrolment end to the day before the end date', () => {
    expect(defaultEnrollmentEnd(start, end, 'UTC')).toEqual({
      given: '2026-12-30',
      at: '2026-12-31T00:00:00.000Z',
      day: '2026-12-30',
    });
    expect(defaultEnrollmentEnd(start, null, 'UTC')).toBeNull();
  });

  it('defaults the enrolment end of an instant end date to 24 hours before it', () => {
    const instantEnd = resolveEnd('2026-12-31T12:00:00Z', 'UTC');
    expect(defaultEnrollmentEnd(start, instantEnd, 'UTC')).toEqual({
      given: '2026-12-30T12:00:00.000Z',
      at: '2026-12-30T12:00:00.000Z',
      day: '2026-12-30',
    });
  });

  it('keeps enrolment open until the end of a batch shorter than a day', () => {
    const shortStart = resolveStart('2026-12-01T08:00:00Z', 'UTC');
    const shortEnd = resolveEnd('2026-12-01T20:00:00Z', 'UTC');
    expect(defaultEnrollmentEnd(shortStart, shortEnd, 'UTC')).toEqual(shortEnd);
  });
});

describe('batch decider: CreateBatch', () => {
  it('refuses a course that does not exist', () => {
    spec
      .given([])
      .when(createBatch({ course: null }))
      .thenThrows(InvalidInputError, { code: 'INVALID_COURSE_ID' });
  });

  it('refuses a course of another organisation to a caller who is not a system admin', () => {
    spec
      .given([])
      .when(createBatch({ actor: outsider }))
      .thenThrows(InvalidInputError, { code: 'INVALID_COURSE_ID' });
  });

  it('records the batch for the course’s creator, with defaults and de-duplicated people', () => {
    spec
      .given([])
      .when(
        createBatch({
          enrollmentType: 'invite-only',
          mentors: ['u-mentor', 'u-mentor-2', 'u-mentor'],
          invitees: ['u-a', 'u-b', 'u-a'],
        }),
      )
      .then([
        {
          type: 'BatchCreated',
          data: {
            batchId: 'batch-1',
            courseId: 'course-1',
            organisationId: ORG,
            createdBy: 'u-creator',
            createdAt: NOW,
            name: 'December cohort',
            description: 'Four weeks',
            enrollmentType: 'invite-only',
            start: { given: '2026-12-01', at: '2026-12-01T00:00:00.000Z' },
            end: { given: '2026-12-31', at: '2027-01-01T00:00:00.000Z' },
            enrollmentEnd: { given: '2026-12-30', at: '2026-12-31T00:00:00.000Z' },
            enrollmentEndDefaulted: true,
            createdFor: [ORG],
            mentors: ['u-mentor', 'u-mentor-2'],
            invitees: ['u-a', 'u-b'],
            certificateCriteria: criteria,
          },
        },
      ]);
  });

  it('keeps a given enrolment end and createdFor, and does not mark it defaulted', () => {
    const enrollmentEnd = resolveEnd('2026-12-15', TZ);
    const [event] = batchDecider.decide(
      createBatch({ enrollmentEnd, createdFor: [ORG, OTHER_ORG] }),
      batchDecider.initialState(),
    );
    expect(event).toMatchObject({
      type: 'BatchCreated',
      data: {
        enrollmentEnd: { given: '2026-12-15', at: '2026-12-16T00:00:00.000Z' },
        enrollmentEndDefaulted: false,
        createdFor: [ORG, OTHER_ORG],
      },
    });
  });

  it('lets an ORG_ADMIN of the course’s organisation create a batch', () => {
    const events = batchDecider.decide(
      createBatch({ actor: orgAdmin }),
      batchDecider.initialState(),
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'BatchCreated', data: { createdBy: 'u-admin' } });
  });

  it('lets a SYSTEM_ADMIN create a batch for any organisation’s course', () => {
    const events = batchDecider.decide(
      createBatch({ actor: systemAdmin }),
      batchDecider.initialState(),
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'BatchCreated',
      data: { createdBy: 'u-root', organisationId: ORG },
    });
  });

  it('refuses a COURSE_MENTOR who did not create the course', () => {
    spec
      .given([])
      .when(createBatch({ actor: mentor }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a CONTENT_CREATOR who did not create the course', () => {
    spec
      .given([])
      .when(createBatch({ actor: otherCreator }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a batch id that is already taken', () => {
    spec
      .given([upcoming])
      .when(createBatch())
      .thenThrows(ConflictError, { code: 'BATCH_ALREADY_EXISTS' });
  });

  it('refuses a start date before today', () => {
    spec
      .given([])
      .when(createBatch({ start: resolveStart('2026-11-21', TZ) }))
      .thenThrows(InvalidInputError, { code: 'COURSE_BATCH_START_DATE_INVALID' });
  });

  it('accepts a start date of today and starts the batch at once, effective 00:00 today', () => {
    const startToday = resolveStart('2026-11-22', TZ);
    const events = batchDecider.decide(
      createBatch({
        start: startToday,
        defaultEnrollmentEnd: defaultEnrollmentEnd(startToday, end, TZ),
      }),
      batchDecider.initialState(),
    );
    expect(events.map((event) => event.type)).toEqual(['BatchCreated', 'BatchStarted']);
    expect(events[1]).toEqual(started('2026-11-22T00:00:00.000Z', NOW));
  });

  it('resolves dates in the hub zone: Asia/Kolkata’s today starts at 18:30Z the day before', () => {
    const kolkata = 'Asia/Kolkata';
    // 10:00Z is 15:30 in Kolkata, still 2026-11-22 there.
    const startToday = resolveStart('2026-11-22', kolkata);
    expect(startToday.at).toBe('2026-11-21T18:30:00.000Z');
    const kolkataEnd = resolveEnd('2026-12-31', kolkata);
    const events = batchDecider.decide(
      createBatch({
        start: startToday,
        end: kolkataEnd,
        defaultEnrollmentEnd: defaultEnrollmentEnd(startToday, kolkataEnd, kolkata),
      }),
      batchDecider.initialState(),
    );
    expect(events[0]).toMatchObject({
      type: 'BatchCreated',
      data: {
        start: { given: '2026-11-22', at: '2026-11-21T18:30:00.000Z' },
        end: { given: '2026-12-31', at: '2026-12-31T18:30:00.000Z' },
        enrollmentEnd: { given: '2026-12-30', at: '2026-12-30T18:30:00.000Z' },
      },
    });
    expect(events[1]).toEqual(started('2026-11-21T18:30:00.000Z', NOW));
  });

  it('refuses an end date equal to the start', () => {
    spec
      .given([])
      .when(
        createBatch({
          start: resolveStart('2026-12-01T00:00:00Z', TZ),
          end: resolveEnd('2026-12-01T00:00:00Z', TZ),
        }),
      )
      .thenThrows(InvalidInputError, { code: 'END_DATE_ERROR' });
  });

  it('refuses an end date before the start', () => {
    spec
      .given([])
      .when(createBatch({ end: resolveEnd('2026-11-29', TZ) }))
      .thenThrows(InvalidInputError, { code: 'END_DATE_ERROR' });
  });

  it('refuses an enrolment end before the start', () => {
    spec
      .given([])
      .when(createBatch({ enrollmentEnd: resolveEnd('2026-11-28', TZ) }))
      .thenThrows(InvalidInputError, { code: 'ENROLLMENT_END_DATE_START_ERROR' });
  });

  it('refuses an enrolment end after the end date', () => {
    spec
      .given([])
      .when(createBatch({ enrollmentEnd: resolveEnd('2027-01-01', TZ) }))
      .thenThrows(InvalidInputError, { code: 'ENROLLMENT_END_DATE_END_ERROR' });
  });

  it('accepts an enrolment end on the end date', () => {
    const [event] = batchDecider.decide(
      createBatch({ enrollmentEnd: resolveEnd('2026-12-31', TZ) }),
      batchDecider.initialState(),
    );
    expect(event).toMatchObject({
      data: {
        enrollmentEnd: { given: '2026-12-31', at: '2027-01-01T00:00:00.000Z' },
        enrollmentEndDefaulted: false,
      },
    });
  });

  it('refuses a mentor the hub does not know', () => {
    spec
      .given([])
      .when(createBatch({ mentors: ['u-mentor', 'u-ghost'] }))
      .thenThrows(InvalidInputError, { code: 'INVALID_USER_ID' });
    spec
      .given([])
      .when(createBatch({ mentors: ['u-never-heard-of'] }))
      .thenThrows(InvalidInputError, { code: 'INVALID_USER_ID' });
  });

  it('refuses a mentor of another organisation', () => {
    spec
      .given([])
      .when(createBatch({ mentors: ['u-foreign'] }))
      .thenThrows(InvalidInputError, { code: 'USER_NOT_ASSOCIATED_TO_ROOT_ORG' });
  });

  it('refuses invitees on an open batch', () => {
    spec
      .given([])
      .when(createBatch({ enrollmentType: 'open', invitees: ['u-a'] }))
      .thenThrows(InvalidInputError, { code: 'INVALID_PARAMETER_VALUE' });
  });

  it('accepts invitees on an invite-only batch', () => {
    const [event] = batchDecider.decide(
      createBatch({ enrollmentType: 'invite-only', invitees: ['u-a'] }),
      batchDecider.initialState(),
    );
    expect(event).toMatchObject({
      type: 'BatchCreated',
      data: { enrollmentType: 'invite-only', invitees: ['u-a'] },
    });
  });
});

describe('batch decider: UpdateBatch', () => {
  const renamed = (updatedBy: string): BatchEvent => ({
    type: 'BatchUpdated',
    data: {
      ...stamp,
      changes: { name: { from: 'December cohort', to: 'Winter cohort' } },
      updatedBy,
      updatedAt: NOW,
    },
  });

  it('refuses a batch that does not exist', () => {
    spec
      .given([])
      .when(updateBatch({ name: 'Winter cohort' }))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
  });

  it('hides the batch from a caller of another organisation', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ name: 'Winter cohort' }, outsider))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
  });

  it('lets the creator update, recording each change as from/to', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ name: 'Winter cohort' }))
      .then([renamed('u-creator')]);
  });

  it('lets a mentor of the batch update', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ name: 'Winter cohort' }, mentor))
      .then([renamed('u-mentor')]);
  });

  it('lets an ORG_ADMIN of the organisation update', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ name: 'Winter cohort' }, orgAdmin))
      .then([renamed('u-admin')]);
  });

  it('refuses another user of the same organisation without rights on the batch', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ name: 'Winter cohort' }, otherCreator))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('does nothing for a patch that changes nothing', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ name: 'December cohort', start, end, mentors: ['u-mentor'] }))
      .thenNothingHappens();
  });

  it('refuses a start date change once the batch is in progress', () => {
    spec
      .given(inProgress)
      .when(updateBatch({ start: resolveStart('2026-11-25', TZ) }))
      .thenThrows(InvalidInputError, { code: 'INVALID_BATCH_START_DATE_ERROR' });
  });

  it('treats a batch as in progress once it has a BatchStarted, whatever its dates', () => {
    spec
      .given([upcoming, started('2026-12-01T00:00:00.000Z')])
      .when(updateBatch({ start: resolveStart('2026-12-05', TZ) }))
      .thenThrows(InvalidInputError, { code: 'INVALID_BATCH_START_DATE_ERROR' });
  });

  it('refuses moving the start of an upcoming batch to a past day', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ start: resolveStart('2026-11-21', TZ) }))
      .thenThrows(InvalidInputError, { code: 'INVALID_BATCH_START_DATE_ERROR' });
  });

  it('moves the start of an upcoming batch to a later day', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ start: resolveStart('2026-12-05', TZ) }))
      .then([
        {
          type: 'BatchUpdated',
          data: {
            ...stamp,
            changes: {
              start: {
                from: { given: '2026-12-01', at: '2026-12-01T00:00:00.000Z' },
                to: { given: '2026-12-05', at: '2026-12-05T00:00:00.000Z' },
              },
            },
            updatedBy: 'u-creator',
            updatedAt: NOW,
          },
        },
      ]);
  });

  it('starts the batch at once when its start moves to today', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ start: resolveStart('2026-11-22', TZ) }))
      .then([
        {
          type: 'BatchUpdated',
          data: {
            ...stamp,
            changes: {
              start: {
                from: { given: '2026-12-01', at: '2026-12-01T00:00:00.000Z' },
                to: { given: '2026-11-22', at: '2026-11-22T00:00:00.000Z' },
              },
            },
            updatedBy: 'u-creator',
            updatedAt: NOW,
          },
        },
        started('2026-11-22T00:00:00.000Z', NOW),
      ]);
  });

  it('refuses an end date before the start', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ end: resolveEnd('2026-11-25', TZ) }))
      .thenThrows(InvalidInputError, { code: 'END_DATE_ERROR' });
  });

  it('records an extension of the end date as BatchEndDateExtended', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ end: resolveEnd('2027-01-31', TZ) }))
      .then([
        {
          type: 'BatchEndDateExtended',
          data: {
            ...stamp,
            from: { given: '2026-12-31', at: '2027-01-01T00:00:00.000Z' },
            to: { given: '2027-01-31', at: '2027-02-01T00:00:00.000Z' },
            extendedBy: 'u-creator',
            extendedAt: NOW,
          },
        },
      ]);
  });

  it('moves a defaulted enrolment end along with an extended end date', () => {
    const newEnd = resolveEnd('2027-01-31', TZ);
    spec
      .given([upcoming])
      .when(
        updateBatch({ end: newEnd, defaultEnrollmentEnd: defaultEnrollmentEnd(start, newEnd, TZ) }),
      )
      .then([
        {
          type: 'BatchUpdated',
          data: {
            ...stamp,
            changes: {
              enrollmentEnd: {
                from: { given: '2026-12-30', at: '2026-12-31T00:00:00.000Z' },
                to: { given: '2027-01-30', at: '2027-01-31T00:00:00.000Z' },
              },
            },
            updatedBy: 'u-creator',
            updatedAt: NOW,
          },
        },
        {
          type: 'BatchEndDateExtended',
          data: {
            ...stamp,
            from: { given: '2026-12-31', at: '2027-01-01T00:00:00.000Z' },
            to: { given: '2027-01-31', at: '2027-02-01T00:00:00.000Z' },
            extendedBy: 'u-creator',
            extendedAt: NOW,
          },
        },
      ]);
  });

  it('leaves a given enrolment end alone when the end date moves', () => {
    const newEnd = resolveEnd('2027-01-31', TZ);
    const events = batchDecider.decide(
      updateBatch({ end: newEnd, defaultEnrollmentEnd: defaultEnrollmentEnd(start, newEnd, TZ) }),
      fold(batchDecider, [batchCreated({ enrollmentEndDefaulted: false })]),
    );
    expect(events.map((event) => event.type)).toEqual(['BatchEndDateExtended']);
  });

  it('refuses shortening the end date of a closed batch', () => {
    spec
      .given(closed)
      .when(updateBatch({ end: resolveEnd('2026-11-12', TZ) }))
      .thenThrows(InvalidInputError, { code: 'COURSE_BATCH_END_DATE_ERROR' });
  });

  it('reopens a closed batch whose end date is extended into the future', () => {
    spec
      .given(closed)
      .when(updateBatch({ end: resolveEnd('2026-12-15', TZ) }))
      .then([
        {
          type: 'BatchEndDateExtended',
          data: {
            ...stamp,
            from: { given: '2026-11-15', at: '2026-11-16T00:00:00.000Z' },
            to: { given: '2026-12-15', at: '2026-12-16T00:00:00.000Z' },
            extendedBy: 'u-creator',
            extendedAt: NOW,
          },
        },
        { type: 'BatchReopened', data: { ...stamp, effectiveAt: NOW, recordedAt: NOW } },
      ]);
  });

  it('refuses extending a closed batch to a date still in the past', () => {
    spec
      .given(closed)
      .when(updateBatch({ end: resolveEnd('2026-11-20', TZ) }))
      .thenThrows(InvalidInputError, { code: 'INVALID_BATCH_END_DATE_ERROR' });
  });

  it('refuses moving the end of an open batch into the past', () => {
    spec
      .given(inProgress)
      .when(updateBatch({ end: resolveEnd('2026-11-21', TZ) }))
      .thenThrows(InvalidInputError, { code: 'INVALID_BATCH_END_DATE_ERROR' });
  });

  it('refuses changing the enrolment end to a past instant', () => {
    spec
      .given(inProgress)
      .when(updateBatch({ enrollmentEnd: resolveEnd('2026-11-20', TZ) }))
      .thenThrows(InvalidInputError, { code: 'ENROLLMENT_END_DATE_UPDATE_ERROR' });
  });

  it('refuses an enrolment end after the end date', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ enrollmentEnd: resolveEnd('2027-01-05', TZ) }))
      .thenThrows(InvalidInputError, { code: 'ENROLLMENT_END_DATE_END_ERROR' });
  });

  it('refuses mentors the hub does not know', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ mentors: ['u-mentor', 'u-ghost'] }))
      .thenThrows(InvalidInputError, { code: 'INVALID_USER_ID' });
  });

  it('refuses mentors of another organisation', () => {
    spec
      .given([upcoming])
      .when(updateBatch({ mentors: ['u-foreign'] }))
      .thenThrows(InvalidInputError, { code: 'USER_NOT_ASSOCIATED_TO_ROOT_ORG' });
  });

  it('refuses invitees when the patch makes the batch open', () => {
    spec
      .given([batchCreated({ enrollmentType: 'invite-only' })])
      .when(updateBatch({ enrollmentType: 'open', invitees: ['u-a'] }))
      .thenThrows(InvalidInputError, { code: 'INVALID_PARAMETER_VALUE' });
  });
});

describe('batch decider: AdvanceBatchStatus', () => {
  const START = '2026-12-01T00:00:00.000Z';
  const END = '2027-01-01T00:00:00.000Z';

  it('does nothing before the start', () => {
    spec.given([upcoming]).when(advance('2026-11-30T23:59:59.999Z')).thenNothingHappens();
  });

  it('starts the batch at its start instant, effective at the start, recorded now', () => {
    spec
      .given([upcoming])
      .when(advance(START))
      .then([started(START, START)]);
  });

  it('starts a batch noticed late with the start as effectiveAt', () => {
    spec
      .given([upcoming])
      .when(advance('2026-12-03T07:00:00.000Z'))
      .then([started(START, '2026-12-03T07:00:00.000Z')]);
  });

  it('catches up after downtime: an upcoming batch past its end starts and ends', () => {
    const later = '2027-01-05T00:00:00.000Z';
    spec
      .given([upcoming])
      .when(advance(later))
      .then([started(START, later), ended(END, later)]);
  });

  it('ends a batch in progress at its end', () => {
    spec
      .given([upcoming, started(START)])
      .when(advance(END))
      .then([ended(END, END)]);
  });

  it('does nothing for an ended batch', () => {
    spec
      .given([upcoming, started(START), ended(END)])
      .when(advance('2027-02-01T00:00:00.000Z'))
      .thenNothingHappens();
  });

  it('does nothing for a batch that does not exist', () => {
    spec.given([]).when(advance(END)).thenNothingHappens();
  });

  it('never ends a batch without an end date', () => {
    spec
      .given([
        batchCreated({ end: null, enrollmentEnd: null, enrollmentEndDefaulted: false }),
        started(START),
      ])
      .when(advance('2030-01-01T00:00:00.000Z'))
      .thenNothingHappens();
  });

  it('applies each transition exactly once', () => {
    const command = advance('2027-01-05T00:00:00.000Z');
    const first = batchDecider.decide(command, fold(batchDecider, [upcoming]));
    expect(first).toHaveLength(2);
    spec
      .given([upcoming, ...first])
      .when(command)
      .thenNothingHappens();
  });
});

describe('nextBoundary', () => {
  const START = '2026-12-01T00:00:00.000Z';
  const END = '2027-01-01T00:00:00.000Z';
  const state = (events: BatchEvent[]) => fold(batchDecider, events);

  it('is null for a batch that does not exist', () => {
    expect(nextBoundary(state([]))).toBeNull();
  });

  it('is the start of an upcoming batch', () => {
    expect(nextBoundary(state([upcoming]))).toEqual(new Date(START));
  });

  it('is the end of a batch in progress', () => {
    expect(nextBoundary(state([upcoming, started(START)]))).toEqual(new Date(END));
  });

  it('is null for a batch in progress without an end date', () => {
    const openEnded = batchCreated({
      end: null,
      enrollmentEnd: null,
      enrollmentEndDefaulted: false,
    });
    expect(nextBoundary(state([openEnded, started(START)]))).toBeNull();
  });

  it('is null for an ended batch', () => {
    expect(nextBoundary(state([upcoming, started(START), ended(END)]))).toBeNull();
  });

  it('is the new end of a reopened batch', () => {
    const reopened = [
      ...closed,
      ...batchDecider.decide(updateBatch({ end: resolveEnd('2026-12-15', TZ) }), state(closed)),
    ];
    expect(nextBoundary(state(reopened))).toEqual(new Date('2026-12-16T00:00:00.000Z'));
  });
});

describe('batch decider: its own LMS resource link', () => {
  const LINK = 'https://lms.test/courses/course-v1:hub+B+2026/course';
  const linkChanged = (from: string | null, to: string | null): BatchEvent => ({
    type: 'BatchUpdated',
    data: {
      ...stamp,
      changes: { lmsResourceLink: { from, to } },
      updatedBy: 'u-creator',
      updatedAt: NOW,
    },
  });

  it('records a link given at creation, and none when none is given', () => {
    const [withLink] = batchDecider.decide(
      createBatch({ lmsResourceLink: LINK }),
      batchDecider.initialState(),
    );
    expect(withLink).toMatchObject({ type: 'BatchCreated', data: { lmsResourceLink: LINK } });
    const [without] = batchDecider.decide(createBatch(), batchDecider.initialState());
    expect(without?.data).not.toHaveProperty('lmsResourceLink');
  });

  it('sets and clears the link on an older batch that never had the field', () => {
    spec
      .given([batchCreated()])
      .when(updateBatch({ lmsResourceLink: LINK }))
      .then([linkChanged(null, LINK)]);
    spec
      .given([batchCreated(), linkChanged(null, LINK)])
      .when(updateBatch({ lmsResourceLink: null }))
      .then([linkChanged(LINK, null)]);
  });

  it('records no change when another field changes or the link stays', () => {
    spec
      .given([batchCreated()])
      .when(updateBatch({ lmsResourceLink: null }))
      .thenNothingHappens();
    const [event] = batchDecider.decide(
      updateBatch({ name: 'Winter cohort' }),
      batchDecider.evolve(batchDecider.initialState(), batchCreated()),
    );
    expect(event).toMatchObject({ data: { changes: { name: expect.anything() } } });
    expect(
      Object.keys((event as Extract<BatchEvent, { type: 'BatchUpdated' }>).data.changes),
    ).toEqual(['name']);
  });
});

import { createHash } from 'node:crypto';
import { Actor } from '../../src/auth/principal';
import { CertificateCriteria, DEFAULT_CERTIFICATE_CRITERIA } from '../../src/batches/batch.events';
import { CourseNode } from '../../src/courses/course.events';
import { courseTracking } from '../../src/enrolments/course-tracking';
import {
  AttemptRecord,
  BatchFacts,
  certificateDue,
  checkCertificate,
  ContentUpdate,
  countingAttempt,
  Enrol,
  EnrolmentCommand,
  enrolmentDecider,
  EnrolmentState,
  IssueCertificate,
  latestAnswers,
  RecordAssessmentAttempt,
  RecordProgress,
  scoreTotals,
  Unenrol,
} from '../../src/enrolments/enrolment.decider';
import {
  AssessmentAttemptRecorded,
  ContentProgressRecorded,
  EnrolmentEvent,
  ProgressSummary,
  QuestionResponse,
} from '../../src/enrolments/enrolment.events';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  RuleViolatedError,
} from '../../src/errors/hub-error';
import { canonicalJson } from '../../src/event-sourcing/canonical-json';
import { fold } from '../../src/event-sourcing/decider';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(enrolmentDecider);

const ORG = 'org-1';
const PARTNER_ORG = 'org-2'; // the batch was created for it too
const OTHER_ORG = 'org-3'; // nothing to do with the batch

const START = '2026-12-01T00:00:00.000Z';
const END = '2027-01-01T00:00:00.000Z';
const ENROLMENT_END = '2026-12-31T00:00:00.000Z';

const now = new Date('2026-12-10T10:00:00.000Z');
const NOW = now.toISOString();
const ENROLLED_AT = '2026-12-02T08:00:00.000Z';

/** Content access times, in order, all before `now`. */
const T1 = '2026-12-10T09:00:00.000Z';
const T2 = '2026-12-10T09:10:00.000Z';
const T3 = '2026-12-10T09:20:00.000Z';
const T4 = '2026-12-10T09:30:00.000Z';

const msBefore = (iso: string, ms = 1) => new Date(Date.parse(iso) - ms);

const learner: Actor = { userId: 'u-learner', organisationId: ORG, roles: ['LEARNER'] };
const peer: Actor = { userId: 'u-peer', organisationId: ORG, roles: ['LEARNER'] };
const invitee: Actor = { userId: 'u-invited', organisationId: ORG, roles: ['LEARNER'] };
const partnerLearner: Actor = {
  userId: 'u-partner',
  organisationId: PARTNER_ORG,
  roles: ['LEARNER'],
};
const mentor: Actor = { userId: 'u-mentor', organisationId: ORG, roles: ['COURSE_MENTOR'] };
const creator: Actor = { userId: 'u-creator', organisationId: ORG, roles: ['CONTENT_CREATOR'] };
const orgAdmin: Actor = { userId: 'u-admin', organisationId: ORG, roles: ['ORG_ADMIN'] };
const systemAdmin: Actor = { userId: 'u-root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
/** Reads the batch (it was created for their organisation) but does not manage it. */
const partnerAdmin: Actor = {
  userId: 'u-partner-admin',
  organisationId: PARTNER_ORG,
  roles: ['ORG_ADMIN'],
};
/** Cannot even see the batch. */
const outsider: Actor = { userId: 'u-outsider', organisationId: OTHER_ORG, roles: ['ORG_ADMIN'] };

const managers: [string, Actor][] = [
  ['the batch creator', creator],
  ['a mentor of the batch', mentor],
  ['an ORG_ADMIN of the batch organisation', orgAdmin],
  ['a SYSTEM_ADMIN', systemAdmin],
];

const criteria: CertificateCriteria = { minCompletionPercent: 100, minScorePercent: 70 };

const batchFacts = (overrides: Partial<BatchFacts> = {}): BatchFacts => ({
  batchId: 'batch-1',
  courseId: 'course-1',
  organisationId: ORG,
  createdFor: [ORG, PARTNER_ORG],
  createdBy: 'u-creator',
  mentors: ['u-mentor'],
  invitees: ['u-invited'],
  enrollmentType: 'open',
  startsAt: START,
  endsAt: END,
  enrollmentEndsAt: ENROLMENT_END,
  certificateCriteria: criteria,
  ...overrides,
});

/**
 * unit-1              required: c1, c2, a1
 *   c1                content
 *   c-opt             content, optional
 *   unit-1a           required: c2, a1 (a unit inside a unit)
 *     c2              content
 *     a1              assessment, max 10
 * a2                  assessment, optional, max 5
 */
const hierarchy: CourseNode[] = [
  {
    kind: 'unit',
    id: 'unit-1',
    name: 'Module 1',
    children: [
      { kind: 'content', id: 'c1', name: 'Video', optional: false },
      { kind: 'content', id: 'c-opt', name: 'Extra reading', optional: true },
      {
        kind: 'unit',
        id: 'unit-1a',
        name: 'Module 1a',
        children: [
          { kind: 'content', id: 'c2', name: 'Exercise', optional: false },
          { kind: 'assessment', id: 'a1', name: 'Quiz 1', optional: false, maxScore: 10 },
        ],
      },
    ],
  },
  { kind: 'assessment', id: 'a2', name: 'Bonus quiz', optional: true, maxScore: 5 },
];
const course = courseTracking('course-1', 1, hierarchy);

/** The same course id without any assessment. */
const courseWithoutAssessments = courseTracking('course-1', 2, [
  { kind: 'content', id: 'c1', name: 'Video', optional: false },
  { kind: 'content', id: 'c-opt', name: 'Extra reading', optional: true },
]);

// ---------------------------------------------------------------------------------------------
// Commands

const base = {
  actor: learner,
  now,
  batchId: 'batch-1',
  batch: batchFacts(),
  userId: 'u-learner',
};

const enrol = ({ course: given, ...overrides }: Partial<Enrol> = {}): Enrol => ({
  type: 'Enrol',
  ...base,
  learner: { organisationId: ORG },
  course: given === undefined ? course : given,
  ...overrides,
});

const unenrol = (overrides: Partial<Unenrol> = {}): Unenrol => ({
  type: 'Unenrol',
  ...base,
  ...overrides,
});

const update = (contentId: string, status: 1 | 2, lastAccessTime: string): ContentUpdate => ({
  contentId,
  status,
  lastAccessTime,
});

const recordProgress = (
  contents: ContentUpdate[],
  overrides: Partial<RecordProgress> = {},
): RecordProgress => ({
  type: 'RecordProgress',
  ...base,
  course,
  contents,
  policy: 'best',
  ...overrides,
});

const answer = (
  questionId: string,
  score: number,
  overrides: Partial<QuestionResponse> = {},
): QuestionResponse => ({
  questionId,
  type: 'mcq',
  title: `Question ${questionId}`,
  options: ['a', 'b', 'c'],
  response: 'a',
  score,
  maxScore: 5,
  duration: 30,
  answeredAt: T1,
  ...overrides,
});

const recordAttempt = (
  overrides: Partial<RecordAssessmentAttempt> = {},
): RecordAssessmentAttempt => ({
  type: 'RecordAssessmentAttempt',
  ...base,
  course,
  contentId: 'a1',
  attemptId: 'att-1',
  submittedAt: T2,
  responses: [answer('q1', 4), answer('q2', 5)],
  policy: 'best',
  ...overrides,
});

/** An attempt on a1 (two questions, 5 points each) scoring `score` out of 10. */
const attemptScoring = (
  score: number,
  attemptId: string,
  submittedAt: string,
  overrides: Partial<RecordAssessmentAttempt> = {},
): RecordAssessmentAttempt =>
  recordAttempt({
    attemptId,
    submittedAt,
    responses: [answer('q1', Math.min(score, 5)), answer('q2', Math.max(score - 5, 0))],
    ...overrides,
  });

const issueCertificate = (overrides: Partial<IssueCertificate> = {}): IssueCertificate => ({
  type: 'IssueCertificate',
  ...base,
  actor: mentor,
  course,
  certificateId: 'cert-1',
  recipient: 'known',
  policy: 'best',
  ...overrides,
});

// ---------------------------------------------------------------------------------------------
// Events

const KEY = { batchId: 'batch-1', courseId: 'course-1', userId: 'u-learner' };

/** The course's progress before anything is done: 3 required contents, none completed. */
const NOTHING_DONE: ProgressSummary = {
  completedCount: 0,
  requiredCount: 3,
  percent: 0,
  units: { 'unit-1': 0, 'unit-1a': 0 },
};

const userEnrolled = (
  overrides: Partial<Extract<EnrolmentEvent, { type: 'UserEnrolled' }>['data']> = {},
): EnrolmentEvent => ({
  type: 'UserEnrolled',
  data: {
    ...KEY,
    enrolledBy: 'u-learner',
    enrolledAt: ENROLLED_AT,
    revived: false,
    progress: NOTHING_DONE,
    ...overrides,
  },
});

const userUnenrolled = (unenrolledBy = 'u-learner', unenrolledAt = T1): EnrolmentEvent => ({
  type: 'UserUnenrolled',
  data: { ...KEY, unenrolledBy, unenrolledAt },
});

const summary = (
  completedCount: number,
  percent: number,
  units: { 'unit-1': number; 'unit-1a': number },
): ProgressSummary => ({ completedCount, requiredCount: 3, percent, units });

const progressRecorded = (
  data: Pick<
    ContentProgressRecorded['data'],
    'contents' | 'lastContentId' | 'lastAccessTime' | 'progress'
  >,
): EnrolmentEvent => ({
  type: 'ContentProgressRecorded',
  data: { ...KEY, recordedAt: NOW, ...data },
});

const courseCompleted = (completedOn = NOW): EnrolmentEvent => ({
  type: 'CourseCompleted',
  data: { ...KEY, completedOn },
});

const digestOf = (submittedAt: string, responses: QuestionResponse[]) =>
  createHash('sha256')
    .update(
      canonicalJson({
        submittedAt,
        responses: [...responses].sort((a, b) =>
          a.questionId < b.questionId ? -1 : a.questionId > b.questionId ? 1 : 0,
        ),
      }),
    )
    .digest('base64url');

const enrolled = userEnrolled();

/** Appends what each command decides to the history, as the command handler would. */
const play = (history: EnrolmentEvent[], ...commands: EnrolmentCommand[]): EnrolmentEvent[] =>
  commands.reduce<EnrolmentEvent[]>(
    (events, command) => [
      ...events,
      ...enrolmentDecider.decide(command, fold(enrolmentDecider, events)),
    ],
    history,
  );

const stateAfter = (events: EnrolmentEvent[]) => fold(enrolmentDecider, events);

/** Enrolled, c1 and c2 completed: only a1 is left. */
const allButAssessment = play(
  [enrolled],
  recordProgress([update('c1', 2, T1), update('c2', 2, T1)], { now: new Date(T1) }),
);

/** Completed course: c1, c2 and an attempt on a1 scoring `score` of 10 at T2. */
const completedWith = (score: number) =>
  play(allButAssessment, attemptScoring(score, 'att-1', T2, { now: new Date(T2) }));

// ---------------------------------------------------------------------------------------------

describe('enrolment decider: Enrol', () => {
  it('enrols a learner in an open batch on their own', () => {
    spec
      .given([])
      .when(enrol())
      .then([
        {
          type: 'UserEnrolled',
          data: {
            ...KEY,
            enrolledBy: 'u-learner',
            enrolledAt: NOW,
            revived: false,
            progress: NOTHING_DONE,
          },
        },
      ]);
  });

  it('enrols before the batch starts', () => {
    const early = new Date('2026-11-20T10:00:00.000Z');
    spec
      .given([])
      .when(enrol({ now: early }))
      .then([userEnrolled({ enrolledAt: early.toISOString() })]);
  });

  it('does not take a principal of another organisation with the same user id for the user', () => {
    spec
      .given([])
      .when(
        enrol({
          actor: { ...partnerLearner, userId: 'u-learner' },
          userId: 'u-learner',
          learner: { organisationId: ORG },
        }),
      )
      .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'UNAUTHORIZED_USER' });
  });

  it('enrols a learner of an organisation the batch was created for', () => {
    spec
      .given([])
      .when(
        enrol({
          actor: partnerLearner,
          userId: 'u-partner',
          learner: { organisationId: PARTNER_ORG },
        }),
      )
      .then([
        {
          type: 'UserEnrolled',
          data: {
            ...KEY,
            userId: 'u-partner',
            enrolledBy: 'u-partner',
            enrolledAt: NOW,
            revived: false,
            progress: NOTHING_DONE,
          },
        },
      ]);
  });

  describe('invite-only batch', () => {
    const inviteOnly = batchFacts({ enrollmentType: 'invite-only' });

    it('refuses a learner who was not invited with 403 ENROLLMENT_INVITE_ONLY', () => {
      spec
        .given([])
        .when(enrol({ batch: inviteOnly }))
        .thenThrows(ForbiddenError, {
          kind: 'forbidden',
          code: 'ENROLLMENT_INVITE_ONLY',
          details: { batchId: 'batch-1' },
        });
    });

    it('lets an invitee enrol themselves', () => {
      spec
        .given([])
        .when(enrol({ batch: inviteOnly, actor: invitee, userId: 'u-invited' }))
        .then([
          {
            type: 'UserEnrolled',
            data: {
              ...KEY,
              userId: 'u-invited',
              enrolledBy: 'u-invited',
              enrolledAt: NOW,
              revived: false,
              progress: NOTHING_DONE,
            },
          },
        ]);
    });

    it.each(managers)('lets %s enrol a learner who was not invited', (_, actor) => {
      spec
        .given([])
        .when(enrol({ batch: inviteOnly, actor }))
        .then([userEnrolled({ enrolledBy: actor.userId, enrolledAt: NOW })]);
    });

    it('lets a mentor, who manages the batch, enrol themselves without an invitation', () => {
      spec
        .given([])
        .when(enrol({ batch: inviteOnly, actor: mentor, userId: 'u-mentor' }))
        .then([
          {
            type: 'UserEnrolled',
            data: {
              ...KEY,
              userId: 'u-mentor',
              enrolledBy: 'u-mentor',
              enrolledAt: NOW,
              revived: false,
              progress: NOTHING_DONE,
            },
          },
        ]);
    });
  });

  describe('enrolling someone else', () => {
    it.each(managers)('lets %s enrol a named user', (_, actor) => {
      spec
        .given([])
        .when(enrol({ actor }))
        .then([userEnrolled({ enrolledBy: actor.userId, enrolledAt: NOW })]);
    });

    it('refuses a plain learner enrolling someone else with 403 UNAUTHORIZED_USER', () => {
      spec
        .given([])
        .when(enrol({ actor: peer }))
        .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'UNAUTHORIZED_USER' });
    });

    it('refuses an admin of a partner organisation, who reads but does not manage the batch', () => {
      spec
        .given([])
        .when(enrol({ actor: partnerAdmin }))
        .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
    });

    it('refuses a user the hub does not know with 404 USER_NOT_FOUND', () => {
      spec
        .given([])
        .when(enrol({ actor: mentor, userId: 'u-ghost', learner: null }))
        .thenThrows(NotFoundError, {
          kind: 'not_found',
          code: 'USER_NOT_FOUND',
          details: { userId: 'u-ghost' },
        });
    });

    it('refuses a learner of an organisation the batch is not for with 422 (a system admin)', () => {
      spec
        .given([])
        .when(enrol({ actor: systemAdmin, learner: { organisationId: OTHER_ORG } }))
        .thenThrows(RuleViolatedError, {
          kind: 'rule_violated',
          code: 'USER_NOT_IN_BATCH_ORGANISATION',
          details: { userId: 'u-learner' },
        });
    });

    it('does not reveal another organisation’s learner to a mentor: 404 USER_NOT_FOUND', () => {
      spec
        .given([])
        .when(enrol({ actor: mentor, learner: { organisationId: OTHER_ORG } }))
        .thenThrows(NotFoundError, { code: 'USER_NOT_FOUND', details: { userId: 'u-learner' } });
    });

    it('accepts a learner of an organisation listed in createdFor', () => {
      spec
        .given([])
        .when(enrol({ actor: mentor, learner: { organisationId: PARTNER_ORG } }))
        .then([userEnrolled({ enrolledBy: 'u-mentor', enrolledAt: NOW })]);
    });

    it('accepts a learner of the batch organisation when createdFor does not list it', () => {
      spec
        .given([])
        .when(
          enrol({
            actor: mentor,
            batch: batchFacts({ createdFor: [PARTNER_ORG] }),
            learner: { organisationId: ORG },
          }),
        )
        .then([userEnrolled({ enrolledBy: 'u-mentor', enrolledAt: NOW })]);
    });
  });

  describe('the batch', () => {
    it('refuses a batch that does not exist with 404 BATCH_NOT_FOUND', () => {
      spec
        .given([])
        .when(enrol({ batch: null }))
        .thenThrows(NotFoundError, {
          kind: 'not_found',
          code: 'BATCH_NOT_FOUND',
          details: { batchId: 'batch-1' },
        });
    });

    it('hides a batch of another organisation, not created for the actor’s, with 404', () => {
      spec
        .given([])
        .when(enrol({ actor: outsider }))
        .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
    });

    it('hides it from a learner of that organisation enrolling themselves too', () => {
      const stranger: Actor = { userId: 'u-stranger', organisationId: OTHER_ORG, roles: [] };
      spec
        .given([])
        .when(
          enrol({ actor: stranger, userId: 'u-stranger', learner: { organisationId: OTHER_ORG } }),
        )
        .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
    });

    it('accepts an enrolment 1 ms before the enrolment end', () => {
      spec
        .given([])
        .when(enrol({ now: msBefore(ENROLMENT_END) }))
        .then([userEnrolled({ enrolledAt: '2026-12-30T23:59:59.999Z' })]);
    });

    it('refuses an enrolment at the enrolment end instant with 422', () => {
      spec
        .given([])
        .when(enrol({ now: new Date(ENROLMENT_END) }))
        .thenThrows(RuleViolatedError, {
          kind: 'rule_violated',
          code: 'COURSE_BATCH_ENROLLMENT_DATE_ENDED',
          details: { batchId: 'batch-1', enrollmentEndsAt: ENROLMENT_END },
        });
    });

    it('refuses a manager’s enrolment after the enrolment end too', () => {
      spec
        .given([])
        .when(enrol({ actor: mentor, now: new Date('2026-12-31T12:00:00.000Z') }))
        .thenThrows(RuleViolatedError, { code: 'COURSE_BATCH_ENROLLMENT_DATE_ENDED' });
    });

    it('refuses an enrolment after the batch ended with 422 COURSE_BATCH_ALREADY_COMPLETED', () => {
      spec
        .given([])
        .when(enrol({ now: new Date('2027-01-05T00:00:00.000Z') }))
        .thenThrows(RuleViolatedError, {
          kind: 'rule_violated',
          code: 'COURSE_BATCH_ALREADY_COMPLETED',
          details: { batchId: 'batch-1' },
        });
    });

    it('treats the end instant as already ended, even without an enrolment end', () => {
      spec
        .given([])
        .when(enrol({ batch: batchFacts({ enrollmentEndsAt: null }), now: new Date(END) }))
        .thenThrows(RuleViolatedError, { code: 'COURSE_BATCH_ALREADY_COMPLETED' });
    });

    it('keeps a batch without end dates open for enrolment', () => {
      const later = new Date('2030-06-01T00:00:00.000Z');
      spec
        .given([])
        .when(enrol({ batch: batchFacts({ endsAt: null, enrollmentEndsAt: null }), now: later }))
        .then([userEnrolled({ enrolledAt: later.toISOString() })]);
    });
  });

  describe('an existing enrolment', () => {
    it('refuses an active enrolment with 409 USER_ALREADY_ENROLLED_COURSE', () => {
      spec
        .given([enrolled])
        .when(enrol())
        .thenThrows(ConflictError, {
          kind: 'conflict',
          code: 'USER_ALREADY_ENROLLED_COURSE',
          details: { batchId: 'batch-1', userId: 'u-learner' },
        });
    });

    it('revives an enrolment after an unenrolment', () => {
      spec
        .given([enrolled, userUnenrolled()])
        .when(enrol({ actor: mentor }))
        .then([userEnrolled({ enrolledBy: 'u-mentor', enrolledAt: NOW, revived: true })]);
    });

    it('keeps the earlier contents, attempts and progress when revived', () => {
      const progressed = play(
        [enrolled],
        recordProgress([update('c1', 2, T1)]),
        recordAttempt({ submittedAt: T2 }),
      );
      const before = stateAfter(progressed);
      const history = play([...progressed, userUnenrolled('u-learner', T3)], enrol());
      expect(history.at(-1)).toEqual(
        userEnrolled({
          enrolledAt: NOW,
          revived: true,
          progress: summary(2, 66, { 'unit-1': 66, 'unit-1a': 50 }),
        }),
      );
      const after = stateAfter(history);
      expect(after).toEqual({ ...before, active: true });
      expect(after).toMatchObject({
        exists: true,
        active: true,
        enrolledAt: ENROLLED_AT,
        contents: {
          c1: { status: 2, lastAccessTime: T1 },
          a1: { status: 2, lastAccessTime: T2 },
        },
        progress: summary(2, 66, { 'unit-1': 66, 'unit-1a': 50 }),
        attempts: { a1: { 'att-1': { score: 9, maxScore: 10, submittedAt: T2 } } },
        lastContentId: 'a1',
        lastAccessTime: T2,
      });
    });
  });
});

describe('enrolment decider: Enrol knows the course’s required contents', () => {
  it('starts the enrolment with the course’s required contents, none done', () => {
    const [event] = enrolmentDecider.decide(enrol(), stateAfter([]));
    expect(event).toMatchObject({ data: { progress: NOTHING_DONE } });
    expect(stateAfter([event!])).toMatchObject({ progress: NOTHING_DONE });
    const [other] = enrolmentDecider.decide(
      enrol({ course: courseWithoutAssessments }),
      stateAfter([]),
    );
    expect(other).toMatchObject({
      data: { progress: { completedCount: 0, requiredCount: 1, percent: 0, units: {} } },
    });
  });

  it('revives with the progress made, against the course as it is now', () => {
    const grown = courseTracking('course-1', 2, [
      ...hierarchy,
      { kind: 'content', id: 'c3', name: 'Summary', optional: false },
    ]);
    const progressed = play([enrolled], recordProgress([update('c1', 2, T1)]));
    const history = play(
      [...progressed, userUnenrolled('u-learner', T3)],
      enrol({ course: grown }),
    );
    const revived = {
      completedCount: 1,
      requiredCount: 4,
      percent: 25,
      units: { 'unit-1': 33, 'unit-1a': 0 },
    };
    expect(history.at(-1)).toEqual(
      userEnrolled({ enrolledAt: NOW, revived: true, progress: revived }),
    );
    expect(stateAfter(history)).toMatchObject({ active: true, progress: revived });
  });

  it('folds an enrolment recorded before it carried progress: known from its first progress', () => {
    const legacy = userEnrolled({ progress: undefined });
    expect(stateAfter([legacy])).toMatchObject({ exists: true, progress: null });
    const history = play([legacy], recordProgress([update('c1', 2, T1)]));
    expect(stateAfter(history)).toMatchObject({
      progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
    });
    const revived = play([legacy, userUnenrolled()], enrol());
    expect(stateAfter(revived)).toMatchObject({ active: true, progress: NOTHING_DONE });
  });

  it('refuses without the batch’s course with 404 COURSE_NOT_FOUND', () => {
    spec
      .given([])
      .when(enrol({ course: null }))
      .thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND' });
  });
});

describe('enrolment decider: Unenrol', () => {
  it('lets a learner unenrol themselves', () => {
    spec
      .given([enrolled])
      .when(unenrol())
      .then([
        { type: 'UserUnenrolled', data: { ...KEY, unenrolledBy: 'u-learner', unenrolledAt: NOW } },
      ]);
  });

  it.each(managers)('lets %s unenrol a learner', (_, actor) => {
    spec
      .given([enrolled])
      .when(unenrol({ actor }))
      .then([userUnenrolled(actor.userId, NOW)]);
  });

  it.each([
    ['another learner', peer],
    ['an admin of a partner organisation', partnerAdmin],
  ])('refuses %s with 403 UNAUTHORIZED_USER', (_, actor) => {
    spec
      .given([enrolled])
      .when(unenrol({ actor }))
      .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a batch the actor cannot see with 404', () => {
    spec
      .given([enrolled])
      .when(unenrol({ actor: outsider }))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
    spec
      .given([enrolled])
      .when(unenrol({ batch: null }))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
  });

  it('refuses a learner who never enrolled with 409 USER_NOT_ENROLLED_COURSE', () => {
    spec
      .given([])
      .when(unenrol())
      .thenThrows(ConflictError, {
        kind: 'conflict',
        code: 'USER_NOT_ENROLLED_COURSE',
        details: { batchId: 'batch-1', userId: 'u-learner' },
      });
  });

  it('refuses an enrolment already inactive with 409 USER_NOT_ENROLLED_COURSE', () => {
    spec
      .given([enrolled, userUnenrolled()])
      .when(unenrol())
      .thenThrows(ConflictError, { code: 'USER_NOT_ENROLLED_COURSE' });
  });

  it('refuses a learner who completed the course with 409 USER_ALREADY_COMPLETED_COURSE', () => {
    spec
      .given(completedWith(9))
      .when(unenrol())
      .thenThrows(ConflictError, {
        kind: 'conflict',
        code: 'USER_ALREADY_COMPLETED_COURSE',
        details: { batchId: 'batch-1', userId: 'u-learner' },
      });
  });

  it('refuses once the batch ended with 422 COURSE_BATCH_ALREADY_COMPLETED', () => {
    spec
      .given([enrolled])
      .when(unenrol({ now: new Date(END) }))
      .thenThrows(RuleViolatedError, {
        kind: 'rule_violated',
        code: 'COURSE_BATCH_ALREADY_COMPLETED',
      });
  });

  it('unenrols 1 ms before the batch ends', () => {
    spec
      .given([enrolled])
      .when(unenrol({ now: msBefore(END) }))
      .then([userUnenrolled('u-learner', '2026-12-31T23:59:59.999Z')]);
  });
});

describe('enrolment decider: RecordProgress', () => {
  const c1Started = progressRecorded({
    contents: [{ contentId: 'c1', status: 1, lastAccessTime: T1 }],
    lastContentId: 'c1',
    lastAccessTime: T1,
    progress: summary(0, 0, { 'unit-1': 0, 'unit-1a': 0 }),
  });

  it('records the learner’s own progress with the course progress after it', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1)]))
      .then([c1Started]);
  });

  it('records progress on the learner’s behalf by a SYSTEM_ADMIN', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1)], { actor: systemAdmin }))
      .then([c1Started]);
  });

  it.each([
    ['a mentor', mentor],
    ['an ORG_ADMIN of the batch organisation', orgAdmin],
    ['the batch creator', creator],
    ['another learner', peer],
  ])('refuses %s with 403 UNAUTHORIZED_USER', (_, actor) => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1)], { actor }))
      .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a batch that does not exist with 404', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1)], { batch: null }))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
  });

  it('refuses progress before the batch starts with 422 NOT_A_ON_GOING_BATCH', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1)], { now: msBefore(START) }))
      .thenThrows(RuleViolatedError, {
        kind: 'rule_violated',
        code: 'NOT_A_ON_GOING_BATCH',
        details: { batchId: 'batch-1', startsAt: START, endsAt: END },
      });
  });

  it('accepts progress at the start instant', () => {
    const events = enrolmentDecider.decide(
      recordProgress([update('c1', 1, START)], { now: new Date(START) }),
      stateAfter([enrolled]),
    );
    expect(events).toEqual([
      {
        ...c1Started,
        data: {
          ...c1Started.data,
          contents: [{ contentId: 'c1', status: 1, lastAccessTime: START }],
          lastAccessTime: START,
          recordedAt: START,
        },
      },
    ]);
  });

  it('refuses an access time more than five minutes ahead of the hub with 400, naming the item', () => {
    spec
      .given([enrolled])
      .when(
        recordProgress([update('c1', 1, new Date(now.getTime() + 5 * 60_000 + 1).toISOString())]),
      )
      .thenThrows(InvalidInputError, { code: 'INVALID_INPUT' });
  });

  it('refuses an attempt submitted more than five minutes ahead of the hub with 400', () => {
    const future = new Date(now.getTime() + 5 * 60_000 + 1).toISOString();
    expect(() =>
      enrolmentDecider.decide({ ...recordAttempt(), submittedAt: future }, stateAfter([enrolled])),
    ).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('refuses progress once the batch ended with 422 NOT_A_ON_GOING_BATCH', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1)], { now: new Date(END) }))
      .thenThrows(RuleViolatedError, { code: 'NOT_A_ON_GOING_BATCH' });
  });

  it('refuses a learner who is not enrolled with 409 USER_NOT_ENROLLED_COURSE', () => {
    spec
      .given([])
      .when(recordProgress([update('c1', 1, T1)]))
      .thenThrows(ConflictError, {
        kind: 'conflict',
        code: 'USER_NOT_ENROLLED_COURSE',
        details: { batchId: 'batch-1', userId: 'u-learner' },
      });
  });

  it('refuses a learner who unenrolled with 409 USER_NOT_ENROLLED_COURSE', () => {
    spec
      .given([enrolled, userUnenrolled()])
      .when(recordProgress([update('c1', 1, T1)]))
      .thenThrows(ConflictError, { code: 'USER_NOT_ENROLLED_COURSE' });
  });

  it('refuses a content id the course does not have with 400 INVALID_CONTENT_ID', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('c1', 1, T1), update('nope', 1, T1)]))
      .thenThrows(InvalidInputError, {
        kind: 'invalid_input',
        code: 'INVALID_CONTENT_ID',
        issues: [{ field: 'contents[1].contentId' }],
      });
  });

  it('refuses a unit id, which is not a content, with INVALID_CONTENT_ID', () => {
    spec
      .given([enrolled])
      .when(recordProgress([update('unit-1a', 2, T1)]))
      .thenThrows(InvalidInputError, { code: 'INVALID_CONTENT_ID' });
  });

  describe('merging updates', () => {
    const c1Done = play([enrolled], recordProgress([update('c1', 2, T1)]));

    it('never lowers a status: completed then in progress stays completed, access moves on', () => {
      spec
        .given(c1Done)
        .when(recordProgress([update('c1', 1, T2)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c1', status: 2, lastAccessTime: T2 }],
            lastContentId: 'c1',
            lastAccessTime: T2,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('raises a status reported with an older access time but keeps the later access time', () => {
      const c1Started = play([enrolled], recordProgress([update('c1', 1, T2)]));
      spec
        .given(c1Started)
        .when(recordProgress([update('c1', 2, T1)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c1', status: 2, lastAccessTime: T2 }],
            lastContentId: 'c1',
            lastAccessTime: T2,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('lists only the contents that moved', () => {
      spec
        .given(c1Done)
        .when(recordProgress([update('c1', 2, T1), update('c2', 1, T2)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c2', status: 1, lastAccessTime: T2 }],
            lastContentId: 'c2',
            lastAccessTime: T2,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('decides nothing for an identical retry', () => {
      const command = recordProgress([update('c1', 2, T1), update('c2', 1, T2)]);
      spec
        .given(play([enrolled], command))
        .when(command)
        .thenNothingHappens();
    });

    it('decides nothing for a lower status reported with an older access time', () => {
      spec
        .given(c1Done)
        .when(recordProgress([update('c1', 1, '2026-12-10T08:00:00.000Z')]))
        .thenNothingHappens();
    });

    it('decides nothing for an empty list of contents', () => {
      spec.given(c1Done).when(recordProgress([])).thenNothingHappens();
    });

    it('merges repeated updates of one content within a command', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c1', 2, T1), update('c1', 1, T2)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c1', status: 2, lastAccessTime: T2 }],
            lastContentId: 'c1',
            lastAccessTime: T2,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
          }),
        ]);
    });
  });

  describe('course progress', () => {
    it('is 1 of 3 required contents: 33 percent, rounded down', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c1', 2, T1)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c1', status: 2, lastAccessTime: T1 }],
            lastContentId: 'c1',
            lastAccessTime: T1,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('is 2 of 3: 66 percent, with the nested unit at 50 percent', () => {
      spec
        .given(play([enrolled], recordProgress([update('c1', 2, T1)])))
        .when(recordProgress([update('c2', 2, T2)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c2', status: 2, lastAccessTime: T2 }],
            lastContentId: 'c2',
            lastAccessTime: T2,
            progress: summary(2, 66, { 'unit-1': 66, 'unit-1a': 50 }),
          }),
        ]);
    });

    it('does not count optional contents', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c-opt', 2, T1), update('a2', 2, T2)]))
        .then([
          progressRecorded({
            contents: [
              { contentId: 'c-opt', status: 2, lastAccessTime: T1 },
              { contentId: 'a2', status: 2, lastAccessTime: T2 },
            ],
            lastContentId: 'a2',
            lastAccessTime: T2,
            progress: summary(0, 0, { 'unit-1': 0, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('does not count contents in progress', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c1', 1, T1), update('c2', 1, T2), update('a1', 1, T3)]))
        .then([
          progressRecorded({
            contents: [
              { contentId: 'c1', status: 1, lastAccessTime: T1 },
              { contentId: 'c2', status: 1, lastAccessTime: T2 },
              { contentId: 'a1', status: 1, lastAccessTime: T3 },
            ],
            lastContentId: 'a1',
            lastAccessTime: T3,
            progress: summary(0, 0, { 'unit-1': 0, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('gives the unit nested in a unit its own progress', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c2', 2, T1), update('a1', 2, T2)]))
        .then([
          progressRecorded({
            contents: [
              { contentId: 'c2', status: 2, lastAccessTime: T1 },
              { contentId: 'a1', status: 2, lastAccessTime: T2 },
            ],
            lastContentId: 'a1',
            lastAccessTime: T2,
            progress: summary(2, 66, { 'unit-1': 66, 'unit-1a': 100 }),
          }),
        ]);
    });
  });

  describe('completing the course', () => {
    const twoDone = play(
      [enrolled],
      recordProgress([update('c1', 2, T1), update('c2', 2, T2)], { now: new Date(T2) }),
    );

    it('completes the course, on `now`, when the last required content is completed', () => {
      spec
        .given(twoDone)
        .when(recordProgress([update('a1', 2, T3)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'a1', status: 2, lastAccessTime: T3 }],
            lastContentId: 'a1',
            lastAccessTime: T3,
            progress: summary(3, 100, { 'unit-1': 100, 'unit-1a': 100 }),
          }),
          courseCompleted(NOW),
        ]);
    });

    it('completes the course when every required content is completed in one command', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c1', 2, T1), update('c2', 2, T2), update('a1', 2, T3)]))
        .then([
          progressRecorded({
            contents: [
              { contentId: 'c1', status: 2, lastAccessTime: T1 },
              { contentId: 'c2', status: 2, lastAccessTime: T2 },
              { contentId: 'a1', status: 2, lastAccessTime: T3 },
            ],
            lastContentId: 'a1',
            lastAccessTime: T3,
            progress: summary(3, 100, { 'unit-1': 100, 'unit-1a': 100 }),
          }),
          courseCompleted(NOW),
        ]);
    });

    it('does not need the optional contents', () => {
      const events = enrolmentDecider.decide(
        recordProgress([update('a1', 2, T3)]),
        stateAfter(twoDone),
      );
      expect(events.map((event) => event.type)).toEqual([
        'ContentProgressRecorded',
        'CourseCompleted',
      ]);
    });

    it('completes the course only once', () => {
      const completed = play(twoDone, recordProgress([update('a1', 2, T3)]));
      expect(stateAfter(completed)).toMatchObject({ completedOn: NOW });
      spec
        .given(completed)
        .when(recordProgress([update('c-opt', 2, T4)], { now: new Date('2026-12-11T00:00:00Z') }))
        .then([
          {
            type: 'ContentProgressRecorded',
            data: {
              ...KEY,
              contents: [{ contentId: 'c-opt', status: 2, lastAccessTime: T4 }],
              lastContentId: 'c-opt',
              lastAccessTime: T4,
              recordedAt: '2026-12-11T00:00:00.000Z',
              progress: summary(3, 100, { 'unit-1': 100, 'unit-1a': 100 }),
            },
          },
        ]);
    });
  });

  describe('last accessed content', () => {
    it('is the content with the latest access in the command, whatever its position', () => {
      spec
        .given([enrolled])
        .when(recordProgress([update('c2', 1, T3), update('c1', 1, T2)]))
        .then([
          progressRecorded({
            contents: [
              { contentId: 'c2', status: 1, lastAccessTime: T3 },
              { contentId: 'c1', status: 1, lastAccessTime: T2 },
            ],
            lastContentId: 'c2',
            lastAccessTime: T3,
            progress: summary(0, 0, { 'unit-1': 0, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('stays on an earlier content accessed later than the contents of this command', () => {
      spec
        .given(play([enrolled], recordProgress([update('c2', 1, T3)])))
        .when(recordProgress([update('c1', 2, T2)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c1', status: 2, lastAccessTime: T2 }],
            lastContentId: 'c2',
            lastAccessTime: T3,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('moves to a content accessed after the last one', () => {
      spec
        .given(play([enrolled], recordProgress([update('c2', 1, T2)])))
        .when(recordProgress([update('c1', 1, T3)]))
        .then([
          progressRecorded({
            contents: [{ contentId: 'c1', status: 1, lastAccessTime: T3 }],
            lastContentId: 'c1',
            lastAccessTime: T3,
            progress: summary(0, 0, { 'unit-1': 0, 'unit-1a': 0 }),
          }),
        ]);
    });

    it('is kept in the state', () => {
      const history = play(
        [enrolled],
        recordProgress([update('c2', 1, T3)]),
        recordProgress([update('c1', 2, T2)]),
      );
      expect(stateAfter(history)).toMatchObject({ lastContentId: 'c2', lastAccessTime: T3 });
    });
  });
});

describe('enrolment decider: RecordAssessmentAttempt', () => {
  const firstAttempt = recordAttempt();
  const firstResponses = [answer('q1', 4), answer('q2', 5)];

  const attemptRecorded = (
    data: Partial<AssessmentAttemptRecorded['data']> &
      Pick<AssessmentAttemptRecorded['data'], 'responses' | 'submittedAt'>,
  ): EnrolmentEvent => {
    const score = data.responses.reduce((sum, r) => sum + r.score, 0);
    // The course's: a1 is out of 10, a2 out of 5.
    const maxScore = data.contentId === 'a2' ? 5 : 10;
    return {
      type: 'AssessmentAttemptRecorded',
      data: {
        ...KEY,
        contentId: 'a1',
        attemptId: 'att-1',
        recordedAt: NOW,
        score,
        maxScore,
        hierarchyVersion: 1,
        digest: digestOf(data.submittedAt, data.responses),
        replaced: false,
        assessment: {
          contentId: data.contentId ?? 'a1',
          attemptId: data.attemptId ?? 'att-1',
          score,
          maxScore,
          attempts: 1,
        },
        totalScore: score,
        totalMaxScore: maxScore,
        policy: 'best',
        ...data,
      },
    };
  };

  it('records the attempt and completes the assessment content', () => {
    spec
      .given([enrolled])
      .when(firstAttempt)
      .then([
        {
          type: 'AssessmentAttemptRecorded',
          data: {
            ...KEY,
            contentId: 'a1',
            attemptId: 'att-1',
            submittedAt: T2,
            recordedAt: NOW,
            responses: firstResponses,
            score: 9,
            maxScore: 10,
            hierarchyVersion: 1,
            digest: digestOf(T2, firstResponses),
            replaced: false,
            assessment: {
              contentId: 'a1',
              attemptId: 'att-1',
              score: 9,
              maxScore: 10,
              attempts: 1,
            },
            totalScore: 9,
            totalMaxScore: 10,
            policy: 'best',
          },
        },
        progressRecorded({
          contents: [{ contentId: 'a1', status: 2, lastAccessTime: T2 }],
          lastContentId: 'a1',
          lastAccessTime: T2,
          progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 50 }),
        }),
      ]);
  });

  it('completes the course when the assessment was the last required content', () => {
    spec
      .given(allButAssessment)
      .when(firstAttempt)
      .then([
        attemptRecorded({ submittedAt: T2, responses: firstResponses }),
        progressRecorded({
          contents: [{ contentId: 'a1', status: 2, lastAccessTime: T2 }],
          lastContentId: 'a1',
          lastAccessTime: T2,
          progress: summary(3, 100, { 'unit-1': 100, 'unit-1a': 100 }),
        }),
        courseCompleted(NOW),
      ]);
  });

  it('records a later attempt on a completed assessment without completing the course again', () => {
    const second = attemptScoring(7, 'att-2', T3);
    const responses = second.responses as QuestionResponse[];
    spec
      .given(completedWith(9))
      .when(second)
      .then([
        attemptRecorded({
          attemptId: 'att-2',
          submittedAt: T3,
          responses,
          assessment: { contentId: 'a1', attemptId: 'att-1', score: 9, maxScore: 10, attempts: 2 },
          totalScore: 9,
          totalMaxScore: 10,
        }),
        progressRecorded({
          contents: [{ contentId: 'a1', status: 2, lastAccessTime: T3 }],
          lastContentId: 'a1',
          lastAccessTime: T3,
          progress: summary(3, 100, { 'unit-1': 100, 'unit-1a': 100 }),
        }),
      ]);
  });

  it('records an optional assessment without moving the course progress', () => {
    const responses = [answer('q1', 3)];
    spec
      .given([enrolled])
      .when(recordAttempt({ contentId: 'a2', responses }))
      .then([
        attemptRecorded({ contentId: 'a2', submittedAt: T2, responses }),
        progressRecorded({
          contents: [{ contentId: 'a2', status: 2, lastAccessTime: T2 }],
          lastContentId: 'a2',
          lastAccessTime: T2,
          progress: summary(0, 0, { 'unit-1': 0, 'unit-1a': 0 }),
        }),
      ]);
  });

  describe('refusals', () => {
    it('refuses a plain content with 400 INVALID_CONTENT_ID', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ contentId: 'c1' }))
        .thenThrows(InvalidInputError, {
          kind: 'invalid_input',
          code: 'INVALID_CONTENT_ID',
          issues: [{ field: 'contentId' }],
        });
    });

    it('refuses an unknown content id with 400 INVALID_CONTENT_ID', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ contentId: 'nope' }))
        .thenThrows(InvalidInputError, { code: 'INVALID_CONTENT_ID' });
    });

    it('refuses a unit id with 400 INVALID_CONTENT_ID', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ contentId: 'unit-1a' }))
        .thenThrows(InvalidInputError, { code: 'INVALID_CONTENT_ID' });
    });

    it('refuses a score above the question’s maximum with 400 INVALID_SCORE', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ responses: [answer('q1', 4), answer('q2', 6)] }))
        .thenThrows(InvalidInputError, {
          kind: 'invalid_input',
          code: 'INVALID_SCORE',
          issues: [{ field: 'responses[1].score' }],
        });
    });

    it('accepts a score equal to the question’s maximum', () => {
      const events = enrolmentDecider.decide(
        recordAttempt({ responses: [answer('q1', 5), answer('q2', 5)] }),
        stateAfter([enrolled]),
      );
      expect(events[0]).toMatchObject({ data: { score: 10, maxScore: 10 } });
    });

    it('refuses another learner with 403, a SYSTEM_ADMIN may record for the learner', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ actor: mentor }))
        .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
      spec
        .given([enrolled])
        .when(recordAttempt({ actor: peer }))
        .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
      const events = enrolmentDecider.decide(
        recordAttempt({ actor: systemAdmin }),
        stateAfter([enrolled]),
      );
      expect(events.map((event) => event.type)).toEqual([
        'AssessmentAttemptRecorded',
        'ContentProgressRecorded',
      ]);
    });

    it('refuses outside the batch’s run with 422 NOT_A_ON_GOING_BATCH', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ now: msBefore(START) }))
        .thenThrows(RuleViolatedError, { code: 'NOT_A_ON_GOING_BATCH' });
      spec
        .given([enrolled])
        .when(recordAttempt({ now: new Date(END) }))
        .thenThrows(RuleViolatedError, { code: 'NOT_A_ON_GOING_BATCH' });
    });

    it('refuses a learner who is not enrolled with 409 USER_NOT_ENROLLED_COURSE', () => {
      spec
        .given([])
        .when(recordAttempt())
        .thenThrows(ConflictError, { code: 'USER_NOT_ENROLLED_COURSE' });
      spec
        .given([enrolled, userUnenrolled()])
        .when(recordAttempt())
        .thenThrows(ConflictError, { code: 'USER_NOT_ENROLLED_COURSE' });
    });
  });

  describe('the maximum is the course’s', () => {
    /** A response that gives no maximum of its own. */
    const without = (questionId: string, score: number) =>
      answer(questionId, score, { maxScore: null });

    it('refuses responses whose maxima add up to less than the assessment’s with 400 ATTEMPT_MAX_SCORE_MISMATCH', () => {
      // a1 is out of 10: 4 out of 5 would pass a 70 % rule on the client's word alone.
      spec
        .given([enrolled])
        .when(recordAttempt({ responses: [answer('q1', 4)] }))
        .thenThrows(InvalidInputError, {
          kind: 'invalid_input',
          code: 'ATTEMPT_MAX_SCORE_MISMATCH',
          issues: [{ field: 'responses' }],
        });
    });

    it('refuses responses whose maxima add up to more than the assessment’s', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ responses: [answer('q1', 4), answer('q2', 5), answer('q3', 5)] }))
        .thenThrows(InvalidInputError, { code: 'ATTEMPT_MAX_SCORE_MISMATCH' });
    });

    it('refuses an attempt where some responses give a maximum and others do not', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ responses: [answer('q1', 4), without('q2', 4)] }))
        .thenThrows(InvalidInputError, {
          code: 'ATTEMPT_MAX_SCORE_MISMATCH',
          issues: [{ field: 'responses[1].maxScore' }],
        });
    });

    it('takes the assessment’s maximum for responses that give none', () => {
      const responses = [without('q1', 4), without('q2', 5)];
      spec
        .given([enrolled])
        .when(recordAttempt({ responses }))
        .then([
          attemptRecorded({ submittedAt: T2, responses }),
          progressRecorded({
            contents: [{ contentId: 'a1', status: 2, lastAccessTime: T2 }],
            lastContentId: 'a1',
            lastAccessTime: T2,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 50 }),
          }),
        ]);
      expect(stateAfter(play([enrolled], recordAttempt({ responses })))).toMatchObject({
        attempts: { a1: { 'att-1': { score: 9, maxScore: 10 } } },
      });
    });

    it('refuses responses without maxima scoring above the assessment’s with 400 SCORE_ABOVE_MAX', () => {
      spec
        .given([enrolled])
        .when(recordAttempt({ responses: [without('q1', 6), without('q2', 5)] }))
        .thenThrows(InvalidInputError, {
          kind: 'invalid_input',
          code: 'SCORE_ABOVE_MAX',
          issues: [{ field: 'responses' }],
        });
      const full = enrolmentDecider.decide(
        recordAttempt({ responses: [without('q1', 10)] }),
        stateAfter([enrolled]),
      );
      expect(full[0]).toMatchObject({ data: { score: 10, maxScore: 10 } });
    });

    it('accepts maxima that add up to the assessment’s but for rounding', () => {
      const responses = [9.7, 0.1, 0.1, 0.1].map((max, q) =>
        answer(`q${q + 1}`, max, { maxScore: max }),
      );
      const events = enrolmentDecider.decide(recordAttempt({ responses }), stateAfter([enrolled]));
      expect(events[0]).toMatchObject({ data: { maxScore: 10 } });
    });

    it('judges the maxima of the answers that count only', () => {
      // The superseded answer to q1 claimed a maximum of 10; the answers that count add up to 10.
      const superseded = answer('q1', 2, { maxScore: 10, answeredAt: T1 });
      const counting = answer('q1', 3, { answeredAt: T2 });
      const events = enrolmentDecider.decide(
        recordAttempt({ responses: [superseded, answer('q2', 5), counting] }),
        stateAfter([enrolled]),
      );
      expect(events[0]).toMatchObject({ data: { score: 8, maxScore: 10 } });
    });

    it('records the maximum of the hierarchy at the time: a later one does not rewrite it', () => {
      const harder = courseTracking(
        'course-1',
        2,
        hierarchy.map((node) =>
          node.kind === 'assessment' && node.id === 'a2' ? { ...node, maxScore: 20 } : node,
        ),
      );
      const first = play(
        [enrolled],
        recordAttempt({ contentId: 'a2', responses: [answer('q1', 4)] }),
      );
      expect(first[1]).toMatchObject({ data: { maxScore: 5, hierarchyVersion: 1 } });
      // Under version 2, a2 is out of 20: five points no longer add up, twenty do.
      spec
        .given(first)
        .when(
          recordAttempt({
            course: harder,
            contentId: 'a2',
            attemptId: 'att-2',
            submittedAt: T3,
            responses: [answer('q1', 4)],
          }),
        )
        .thenThrows(InvalidInputError, { code: 'ATTEMPT_MAX_SCORE_MISMATCH' });
      const second = recordAttempt({
        course: harder,
        contentId: 'a2',
        attemptId: 'att-2',
        submittedAt: T3,
        responses: [answer('q1', 3, { maxScore: 20 })],
      });
      const [recorded] = enrolmentDecider.decide(second, stateAfter(first));
      expect(recorded).toMatchObject({
        data: {
          maxScore: 20,
          hierarchyVersion: 2,
          // Best of 4/5 and 3/20: the higher score, as before.
          assessment: { contentId: 'a2', attemptId: 'att-1', score: 4, maxScore: 5, attempts: 2 },
        },
      });
      expect(stateAfter(play(first, second))).toMatchObject({
        attempts: {
          a2: {
            'att-1': { score: 4, maxScore: 5 },
            'att-2': { score: 3, maxScore: 20 },
          },
        },
      });
    });

    it('keeps the maximum of an attempt recorded before: the responses’ sum it carries', () => {
      // Recorded before the course was the authority: 4 of 5 on a1, which the course has out of 10.
      const legacy: EnrolmentEvent = {
        type: 'AssessmentAttemptRecorded',
        data: {
          ...KEY,
          contentId: 'a1',
          attemptId: 'att-old',
          submittedAt: T1,
          recordedAt: T1,
          responses: [answer('q1', 4)],
          score: 4,
          maxScore: 5,
          digest: digestOf(T1, [answer('q1', 4)]),
          replaced: false,
          assessment: { contentId: 'a1', attemptId: 'att-old', score: 4, maxScore: 5, attempts: 1 },
          totalScore: 4,
          totalMaxScore: 5,
          policy: 'best',
        },
      };
      expect(stateAfter([enrolled, legacy])).toMatchObject({
        attempts: { a1: { 'att-old': { score: 4, maxScore: 5 } } },
      });
      const [recorded] = enrolmentDecider.decide(
        recordAttempt({ contentId: 'a2', responses: [answer('q1', 3)], submittedAt: T2 }),
        stateAfter([enrolled, legacy]),
      );
      expect(recorded).toMatchObject({ data: { totalScore: 7, totalMaxScore: 10 } });
    });

    it('refuses an assessment the course declares no sound maximum for with 422', () => {
      const unscored = courseTracking('course-1', 3, [
        { kind: 'content', id: 'c1', name: 'Video', optional: false },
        { kind: 'assessment', id: 'a1', name: 'Quiz 1', optional: false, maxScore: 0 },
      ]);
      spec
        .given([enrolled])
        .when(recordAttempt({ course: unscored }))
        .thenThrows(RuleViolatedError, {
          kind: 'rule_violated',
          code: 'ASSESSMENT_MAX_SCORE_UNDECLARED',
          details: { contentId: 'a1' },
        });
    });
  });

  describe('answers within an attempt', () => {
    it('keeps the latest answer to each question by answer time', () => {
      const later = answer('q1', 1, { response: 'b', answeredAt: T2 });
      const earlier = answer('q1', 5, { response: 'a', answeredAt: T1 });
      const q2 = answer('q2', 5);
      spec
        .given([enrolled])
        .when(recordAttempt({ submittedAt: T3, responses: [later, q2, earlier] }))
        .then([
          attemptRecorded({ submittedAt: T3, responses: [later, q2] }),
          progressRecorded({
            contents: [{ contentId: 'a1', status: 2, lastAccessTime: T3 }],
            lastContentId: 'a1',
            lastAccessTime: T3,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 50 }),
          }),
        ]);
    });

    it('keeps the later answer in the list when the answer times are equal or absent', () => {
      const first = answer('q1', 5, { response: 'a', answeredAt: T1 });
      const second = answer('q1', 2, { response: 'b', answeredAt: T1 });
      const untimedFirst = answer('q2', 5, { response: 'a', answeredAt: null });
      const untimedSecond = answer('q2', 0, { response: 'c', answeredAt: null });
      const events = enrolmentDecider.decide(
        recordAttempt({ responses: [first, untimedFirst, second, untimedSecond] }),
        stateAfter([enrolled]),
      );
      expect(events[0]).toEqual(
        attemptRecorded({ submittedAt: T2, responses: [second, untimedSecond] }),
      );
    });

    it('judges the score of the answers that count only', () => {
      const superseded = answer('q1', 9, { answeredAt: T1 });
      const counting = answer('q1', 3, { answeredAt: T2 });
      const q2 = answer('q2', 5);
      const events = enrolmentDecider.decide(
        recordAttempt({ responses: [superseded, q2, counting] }),
        stateAfter([enrolled]),
      );
      expect(events[0]).toMatchObject({
        data: { responses: [counting, q2], score: 8, maxScore: 10 },
      });
    });
  });

  describe('resubmissions', () => {
    const once = play([enrolled], firstAttempt);

    it('decides nothing for an identical resubmission', () => {
      spec.given(once).when(firstAttempt).thenNothingHappens();
    });

    it('decides nothing for the same answers listed in another order', () => {
      spec
        .given(once)
        .when(recordAttempt({ responses: [...firstResponses].reverse() }))
        .thenNothingHappens();
    });

    it('replaces the attempt with different answers submitted at the same time', () => {
      const responses = [answer('q1', 2), answer('q2', 5)];
      spec
        .given(once)
        .when(recordAttempt({ responses }))
        .then([
          attemptRecorded({
            submittedAt: T2,
            responses,
            replaced: true,
            assessment: {
              contentId: 'a1',
              attemptId: 'att-1',
              score: 7,
              maxScore: 10,
              attempts: 1,
            },
          }),
        ]);
    });

    it('replaces the attempt with a later submission and moves the last access', () => {
      const responses = [answer('q1', 2), answer('q2', 5)];
      spec
        .given(once)
        .when(recordAttempt({ submittedAt: T3, responses }))
        .then([
          attemptRecorded({
            submittedAt: T3,
            responses,
            replaced: true,
            assessment: {
              contentId: 'a1',
              attemptId: 'att-1',
              score: 7,
              maxScore: 10,
              attempts: 1,
            },
          }),
          progressRecorded({
            contents: [{ contentId: 'a1', status: 2, lastAccessTime: T3 }],
            lastContentId: 'a1',
            lastAccessTime: T3,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 50 }),
          }),
        ]);
    });

    it('replaces the attempt with the same answers submitted later', () => {
      const events = enrolmentDecider.decide(recordAttempt({ submittedAt: T3 }), stateAfter(once));
      expect(events[0]).toMatchObject({ data: { replaced: true, submittedAt: T3 } });
    });

    it('decides nothing for an older submission of a recorded attempt', () => {
      spec
        .given(once)
        .when(recordAttempt({ submittedAt: T1, responses: [answer('q1', 0), answer('q2', 0)] }))
        .thenNothingHappens();
    });

    it('records an older submission under another attempt id', () => {
      const events = enrolmentDecider.decide(attemptScoring(3, 'att-0', T1), stateAfter(once));
      expect(events).toEqual([
        attemptRecorded({
          attemptId: 'att-0',
          submittedAt: T1,
          responses: [answer('q1', 3), answer('q2', 0)],
          assessment: { contentId: 'a1', attemptId: 'att-1', score: 9, maxScore: 10, attempts: 2 },
          totalScore: 9,
          totalMaxScore: 10,
        }),
      ]);
    });
  });

  describe('score policies', () => {
    const scoredEight = play([enrolled], attemptScoring(8, 'att-1', T1));

    it('best: keeps the highest score over a later, lower one', () => {
      const events = enrolmentDecider.decide(
        attemptScoring(6, 'att-2', T2),
        stateAfter(scoredEight),
      );
      expect(events[0]).toMatchObject({
        data: {
          attemptId: 'att-2',
          score: 6,
          assessment: { contentId: 'a1', attemptId: 'att-1', score: 8, maxScore: 10, attempts: 2 },
          totalScore: 8,
          totalMaxScore: 10,
          policy: 'best',
        },
      });
    });

    it('best: takes a later, higher score', () => {
      const events = enrolmentDecider.decide(
        attemptScoring(10, 'att-2', T2),
        stateAfter(scoredEight),
      );
      expect(events[0]).toMatchObject({
        data: {
          assessment: { attemptId: 'att-2', score: 10, attempts: 2 },
          totalScore: 10,
        },
      });
    });

    it('best: takes the latest of equal scores', () => {
      const events = enrolmentDecider.decide(
        attemptScoring(8, 'att-2', T2),
        stateAfter(scoredEight),
      );
      expect(events[0]).toMatchObject({
        data: { assessment: { attemptId: 'att-2', score: 8, attempts: 2 }, totalScore: 8 },
      });
    });

    it('last: takes the latest submission even when it scores lower', () => {
      const events = enrolmentDecider.decide(
        attemptScoring(6, 'att-2', T2, { policy: 'last' }),
        stateAfter(scoredEight),
      );
      expect(events[0]).toMatchObject({
        data: {
          assessment: { contentId: 'a1', attemptId: 'att-2', score: 6, maxScore: 10, attempts: 2 },
          totalScore: 6,
          totalMaxScore: 10,
          policy: 'last',
        },
      });
    });

    it('last: keeps the latest submission when an older attempt arrives late', () => {
      const events = enrolmentDecider.decide(
        attemptScoring(10, 'att-0', '2026-12-10T08:00:00.000Z', { policy: 'last' }),
        stateAfter(scoredEight),
      );
      expect(events[0]).toMatchObject({
        data: { assessment: { attemptId: 'att-1', score: 8, attempts: 2 }, totalScore: 8 },
      });
    });

    it('sums the counting attempts of every assessment', () => {
      const responses = [answer('q1', 3)];
      spec
        .given(scoredEight)
        .when(recordAttempt({ contentId: 'a2', attemptId: 'att-b', submittedAt: T3, responses }))
        .then([
          attemptRecorded({
            contentId: 'a2',
            attemptId: 'att-b',
            submittedAt: T3,
            responses,
            assessment: { contentId: 'a2', attemptId: 'att-b', score: 3, maxScore: 5, attempts: 1 },
            totalScore: 11,
            totalMaxScore: 15,
          }),
          progressRecorded({
            contents: [{ contentId: 'a2', status: 2, lastAccessTime: T3 }],
            lastContentId: 'a2',
            lastAccessTime: T3,
            progress: summary(1, 33, { 'unit-1': 33, 'unit-1a': 50 }),
          }),
        ]);
    });
  });
});

describe('enrolment decider: IssueCertificate', () => {
  const failed = (code: string, reason: string, failedAt = NOW): EnrolmentEvent => ({
    type: 'CertificateIssueFailed',
    data: { ...KEY, code, reason, failedAt },
  });
  const UNKNOWN_REASON = 'The hub has no profile for the learner to name on the certificate';
  const ERASED_REASON =
    'The learner’s personal data was erased: there is no name to put on the certificate';
  const NO_ASSESSMENT_REASON =
    'The batch requires a minimum score but the course has no assessment';

  const issued = (scorePercent: number | null, certificateId = 'cert-1'): EnrolmentEvent => ({
    type: 'CertificateIssued',
    data: { ...KEY, certificateId, issuedAt: NOW, progressPercent: 100, scorePercent },
  });

  it('issues the certificate to a learner who meets completion and score', () => {
    spec
      .given(completedWith(9))
      .when(issueCertificate())
      .then([
        {
          type: 'CertificateIssued',
          data: {
            ...KEY,
            certificateId: 'cert-1',
            issuedAt: NOW,
            progressPercent: 100,
            scorePercent: 90,
          },
        },
      ]);
  });

  it('issues at exactly the minimum score', () => {
    spec
      .given(completedWith(7))
      .when(issueCertificate())
      .then([issued(70)]);
  });

  it('decides nothing below the minimum score', () => {
    spec.given(completedWith(6)).when(issueCertificate()).thenNothingHappens();
  });

  it('counts completion only when the batch has no score rule', () => {
    spec
      .given(completedWith(1))
      .when(
        issueCertificate({
          batch: batchFacts({
            certificateCriteria: { minCompletionPercent: 100, minScorePercent: null },
          }),
        }),
      )
      .then([issued(null)]);
  });

  it('decides nothing below the completion needed', () => {
    spec.given(allButAssessment).when(issueCertificate()).thenNothingHappens();
  });

  it('issues at a lower completion threshold once it is reached', () => {
    const partial = play([enrolled], recordProgress([update('c1', 2, T1), update('c2', 2, T1)]));
    spec
      .given(partial)
      .when(
        issueCertificate({
          batch: batchFacts({
            certificateCriteria: { minCompletionPercent: 60, minScorePercent: null },
          }),
        }),
      )
      .then([
        {
          type: 'CertificateIssued',
          data: {
            ...KEY,
            certificateId: 'cert-1',
            issuedAt: NOW,
            progressPercent: 66,
            scorePercent: null,
          },
        },
      ]);
  });

  it('weighs the score by the command’s policy', () => {
    // att-1 scores 9 at T2, att-2 scores 5 at T3: best 90%, last 50%.
    const twoAttempts = play(completedWith(9), attemptScoring(5, 'att-2', T3));
    spec
      .given(twoAttempts)
      .when(issueCertificate())
      .then([issued(90)]);
    spec
      .given(twoAttempts)
      .when(issueCertificate({ policy: 'last' }))
      .thenNothingHappens();
  });

  it('sums every assessment attempted, optional ones too, into the score', () => {
    // a1 8/10 and a2 1/5: 9 of 15 is 60% < 70%.
    const withBonus = play(
      completedWith(8),
      recordAttempt({ contentId: 'a2', attemptId: 'att-b', responses: [answer('q1', 1)] }),
    );
    spec.given(withBonus).when(issueCertificate()).thenNothingHappens();
  });

  it.each(managers)('lets %s issue the certificate', (_, actor) => {
    spec
      .given(completedWith(9))
      .when(issueCertificate({ actor }))
      .then([issued(90)]);
  });

  it.each([
    ['the learner', learner],
    ['an admin of a partner organisation', partnerAdmin],
  ])('refuses %s with 403 UNAUTHORIZED_USER', (_, actor) => {
    spec
      .given(completedWith(9))
      .when(issueCertificate({ actor }))
      .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a batch the actor cannot see with 404', () => {
    spec
      .given(completedWith(9))
      .when(issueCertificate({ actor: outsider }))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
    spec
      .given(completedWith(9))
      .when(issueCertificate({ batch: null }))
      .thenThrows(NotFoundError, { code: 'BATCH_NOT_FOUND' });
  });

  it('decides nothing for a learner who never enrolled', () => {
    spec.given([]).when(issueCertificate()).thenNothingHappens();
  });

  it('decides nothing for an inactive enrolment', () => {
    const history = [...completedWith(9), userUnenrolled('u-mentor', NOW)];
    spec.given(history).when(issueCertificate()).thenNothingHappens();
  });

  describe('recipient and failures', () => {
    it('fails with RECIPIENT_UNKNOWN when the hub cannot name the learner', () => {
      spec
        .given(completedWith(9))
        .when(issueCertificate({ recipient: 'unknown' }))
        .then([
          {
            type: 'CertificateIssueFailed',
            data: { ...KEY, code: 'RECIPIENT_UNKNOWN', reason: UNKNOWN_REASON, failedAt: NOW },
          },
        ]);
    });

    it('fails with RECIPIENT_ERASED when the learner’s personal data was erased', () => {
      spec
        .given(completedWith(9))
        .when(issueCertificate({ recipient: 'erased' }))
        .then([failed('RECIPIENT_ERASED', ERASED_REASON)]);
    });

    it('does not fail on the recipient of a learner who is not eligible', () => {
      spec
        .given(completedWith(6))
        .when(issueCertificate({ recipient: 'unknown' }))
        .thenNothingHappens();
    });

    it('decides nothing for the same failure again', () => {
      spec
        .given([...completedWith(9), failed('RECIPIENT_UNKNOWN', UNKNOWN_REASON, T3)])
        .when(issueCertificate({ recipient: 'unknown' }))
        .thenNothingHappens();
    });

    it('appends a different failure', () => {
      spec
        .given([...completedWith(9), failed('RECIPIENT_UNKNOWN', UNKNOWN_REASON, T3)])
        .when(issueCertificate({ recipient: 'erased' }))
        .then([failed('RECIPIENT_ERASED', ERASED_REASON)]);
    });

    it('issues after an earlier failure once the recipient is known', () => {
      spec
        .given([...completedWith(9), failed('RECIPIENT_UNKNOWN', UNKNOWN_REASON, T3)])
        .when(issueCertificate({ certificateId: 'cert-2' }))
        .then([issued(90, 'cert-2')]);
    });

    it('decides nothing once the certificate is issued', () => {
      const history = play(completedWith(9), issueCertificate());
      expect(stateAfter(history)).toMatchObject({
        certificate: { status: 'Issued', certificateId: 'cert-1', at: NOW },
      });
      spec
        .given(history)
        .when(issueCertificate({ certificateId: 'cert-2' }))
        .thenNothingHappens();
      spec
        .given(history)
        .when(issueCertificate({ certificateId: 'cert-2', recipient: 'erased' }))
        .thenNothingHappens();
    });

    it('fails with NO_ASSESSMENT_FOR_SCORE_RULE for a score rule on a course without assessments', () => {
      const done = play(
        [enrolled],
        recordProgress([update('c1', 2, T1)], { course: courseWithoutAssessments }),
      );
      spec
        .given(done)
        .when(issueCertificate({ course: courseWithoutAssessments }))
        .then([failed('NO_ASSESSMENT_FOR_SCORE_RULE', NO_ASSESSMENT_REASON)]);
      spec
        .given([...done, failed('NO_ASSESSMENT_FOR_SCORE_RULE', NO_ASSESSMENT_REASON)])
        .when(issueCertificate({ course: courseWithoutAssessments, recipient: 'unknown' }))
        .thenNothingHappens();
    });

    it('issues on completion alone when the default score rule meets a course without assessments', () => {
      const done = play(
        [enrolled],
        recordProgress([update('c1', 2, T1)], { course: courseWithoutAssessments }),
      );
      spec
        .given(done)
        .when(
          issueCertificate({
            course: courseWithoutAssessments,
            batch: batchFacts({ certificateCriteria: DEFAULT_CERTIFICATE_CRITERIA }),
          }),
        )
        .then([issued(null)]);
    });

    it('holds a course with assessments to the default score rule', () => {
      const defaulted = batchFacts({ certificateCriteria: DEFAULT_CERTIFICATE_CRITERIA });
      spec
        .given(completedWith(6))
        .when(issueCertificate({ batch: defaulted }))
        .thenNothingHappens();
      spec
        .given(completedWith(7))
        .when(issueCertificate({ batch: defaulted }))
        .then([issued(70)]);
    });

    it('decides nothing for a completed course with a score rule but no attempt yet', () => {
      const done = play(
        [enrolled],
        recordProgress([update('c1', 2, T1), update('c2', 2, T1), update('a1', 2, T1)]),
      );
      spec.given(done).when(issueCertificate()).thenNothingHappens();
    });

    it('records the failure in the state', () => {
      const history = play(completedWith(9), issueCertificate({ recipient: 'erased' }));
      expect(stateAfter(history)).toMatchObject({
        certificate: { status: 'Failed', code: 'RECIPIENT_ERASED', at: NOW },
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers

type Enrolment = Extract<EnrolmentState, { exists: true }>;
const enrolmentOf = (events: EnrolmentEvent[]): Enrolment => {
  const state = stateAfter(events);
  if (!state.exists) throw new Error('expected an enrolment');
  return state;
};

describe('checkCertificate', () => {
  it('is eligible with the progress and score percents', () => {
    expect(checkCertificate(enrolmentOf(completedWith(9)), course, criteria, 'best')).toEqual({
      eligible: true,
      progressPercent: 100,
      scorePercent: 90,
      failure: null,
    });
  });

  it('gives an unrounded score percent', () => {
    // a1 9/10, a2 1/5: 10 of 15.
    const history = play(
      completedWith(9),
      recordAttempt({ contentId: 'a2', attemptId: 'att-b', responses: [answer('q1', 1)] }),
    );
    const check = checkCertificate(enrolmentOf(history), course, criteria, 'best');
    expect(check.eligible).toBe(false);
    expect(check.scorePercent).toBeCloseTo(66.667, 3);
  });

  it('is not eligible below the score, with the score it has', () => {
    expect(checkCertificate(enrolmentOf(completedWith(6)), course, criteria, 'best')).toEqual({
      eligible: false,
      progressPercent: 100,
      scorePercent: 60,
      failure: null,
    });
  });

  it('stops at completion: no score below the completion needed', () => {
    const partial = play([enrolled], attemptScoring(9, 'att-x', T1));
    expect(checkCertificate(enrolmentOf(partial), course, criteria, 'best')).toEqual({
      eligible: false,
      progressPercent: 33,
      scorePercent: null,
      failure: null,
    });
  });

  it('is eligible on completion alone without a score rule', () => {
    expect(
      checkCertificate(
        enrolmentOf(completedWith(0)),
        course,
        { minCompletionPercent: 100, minScorePercent: null },
        'best',
      ),
    ).toEqual({ eligible: true, progressPercent: 100, scorePercent: null, failure: null });
  });

  it('is not eligible for an inactive enrolment', () => {
    expect(
      checkCertificate(
        enrolmentOf([...completedWith(9), userUnenrolled()]),
        course,
        criteria,
        'best',
      ),
    ).toEqual({ eligible: false, progressPercent: 100, scorePercent: null, failure: null });
  });

  it('is eligible on completion alone when the default score rule meets a course without assessments', () => {
    const done = play(
      [enrolled],
      recordProgress([update('c1', 2, T1)], { course: courseWithoutAssessments }),
    );
    expect(
      checkCertificate(
        enrolmentOf(done),
        courseWithoutAssessments,
        DEFAULT_CERTIFICATE_CRITERIA,
        'best',
      ),
    ).toEqual({ eligible: true, progressPercent: 100, scorePercent: null, failure: null });
  });

  it('reports the failure of a score rule on a course without assessments', () => {
    const done = play(
      [enrolled],
      recordProgress([update('c1', 2, T1)], { course: courseWithoutAssessments }),
    );
    expect(checkCertificate(enrolmentOf(done), courseWithoutAssessments, criteria, 'best')).toEqual(
      {
        eligible: false,
        progressPercent: 100,
        scorePercent: null,
        failure: {
          code: 'NO_ASSESSMENT_FOR_SCORE_RULE',
          reason: 'The batch requires a minimum score but the course has no assessment',
        },
      },
    );
  });

  it('is not eligible without any attempt', () => {
    const done = play(
      [enrolled],
      recordProgress([update('c1', 2, T1), update('c2', 2, T1), update('a1', 2, T1)]),
    );
    expect(checkCertificate(enrolmentOf(done), course, criteria, 'best')).toEqual({
      eligible: false,
      progressPercent: 100,
      scorePercent: null,
      failure: null,
    });
  });
});

describe('certificateDue', () => {
  it('is false without an enrolment', () => {
    expect(certificateDue({ exists: false }, course, criteria, 'best')).toBe(false);
  });

  it('is true for an eligible enrolment without a certificate', () => {
    expect(certificateDue(stateAfter(completedWith(9)), course, criteria, 'best')).toBe(true);
  });

  it('is false below the criteria', () => {
    expect(certificateDue(stateAfter(completedWith(6)), course, criteria, 'best')).toBe(false);
    expect(certificateDue(stateAfter(allButAssessment), course, criteria, 'best')).toBe(false);
  });

  it('is false for an inactive enrolment', () => {
    expect(
      certificateDue(stateAfter([...completedWith(9), userUnenrolled()]), course, criteria, 'best'),
    ).toBe(false);
  });

  it('is false once issued', () => {
    const history = play(completedWith(9), issueCertificate());
    expect(certificateDue(stateAfter(history), course, criteria, 'best')).toBe(false);
  });

  it('is true after a recipient failure: the recipient may be known by now', () => {
    const history = play(completedWith(9), issueCertificate({ recipient: 'unknown' }));
    expect(certificateDue(stateAfter(history), course, criteria, 'best')).toBe(true);
  });

  it('is true for a new failure and false for one already recorded', () => {
    const done = play(
      [enrolled],
      recordProgress([update('c1', 2, T1)], { course: courseWithoutAssessments }),
    );
    expect(certificateDue(stateAfter(done), courseWithoutAssessments, criteria, 'best')).toBe(true);
    const afterFailure = play(done, issueCertificate({ course: courseWithoutAssessments }));
    expect(afterFailure.at(-1)).toMatchObject({
      type: 'CertificateIssueFailed',
      data: { code: 'NO_ASSESSMENT_FOR_SCORE_RULE' },
    });
    expect(
      certificateDue(stateAfter(afterFailure), courseWithoutAssessments, criteria, 'best'),
    ).toBe(false);
  });

  it('follows the policy', () => {
    const twoAttempts = stateAfter(play(completedWith(9), attemptScoring(5, 'att-2', T3)));
    expect(certificateDue(twoAttempts, course, criteria, 'best')).toBe(true);
    expect(certificateDue(twoAttempts, course, criteria, 'last')).toBe(false);
  });
});

describe('latestAnswers', () => {
  it('keeps one answer per question, in the order questions first appear', () => {
    const q1 = answer('q1', 1);
    const q2 = answer('q2', 2);
    expect(latestAnswers([q1, q2])).toEqual([q1, q2]);
    expect(latestAnswers([])).toEqual([]);
  });

  it('keeps the answer with the latest answer time, wherever it stands', () => {
    const late = answer('q1', 1, { answeredAt: T3 });
    const early = answer('q1', 2, { answeredAt: T1 });
    expect(latestAnswers([late, early])).toEqual([late]);
    expect(latestAnswers([early, late])).toEqual([late]);
  });

  it('keeps the later one in the list for equal answer times', () => {
    const first = answer('q1', 1, { answeredAt: T2, response: 'a' });
    const second = answer('q1', 2, { answeredAt: T2, response: 'b' });
    expect(latestAnswers([first, second])).toEqual([second]);
  });

  it('keeps the later one in the list when either answer time is absent', () => {
    const timed = answer('q1', 1, { answeredAt: T3 });
    const untimed = answer('q1', 2, { answeredAt: null });
    expect(latestAnswers([timed, untimed])).toEqual([untimed]);
    expect(latestAnswers([untimed, timed])).toEqual([timed]);
  });

  it('compares instants, not strings', () => {
    const utc = answer('q1', 1, { answeredAt: '2026-12-10T09:00:00.000Z' });
    const earlierInKolkata = answer('q1', 2, { answeredAt: '2026-12-10T14:00:00+05:30' });
    expect(latestAnswers([utc, earlierInKolkata])).toEqual([utc]);
  });
});

describe('countingAttempt', () => {
  const record = (score: number, submittedAt: string, maxScore = 10): AttemptRecord => ({
    score,
    maxScore,
    submittedAt,
    digest: `d-${score}-${submittedAt}`,
  });

  it('is null without attempts', () => {
    expect(countingAttempt({}, 'best')).toBeNull();
    expect(countingAttempt({}, 'last')).toBeNull();
  });

  it('is the only attempt there is', () => {
    expect(countingAttempt({ a: record(3, T1) }, 'best')).toEqual(['a', record(3, T1)]);
    expect(countingAttempt({ a: record(3, T1) }, 'last')).toEqual(['a', record(3, T1)]);
  });

  it('best: is the highest score, whenever it was submitted', () => {
    const attempts = { a: record(6, T1), b: record(9, T2), c: record(7, T3) };
    expect(countingAttempt(attempts, 'best')).toEqual(['b', record(9, T2)]);
  });

  it('best: is the latest of equal highest scores, whatever the order of the records', () => {
    expect(countingAttempt({ a: record(9, T3), b: record(9, T1) }, 'best')).toEqual([
      'a',
      record(9, T3),
    ]);
    expect(countingAttempt({ a: record(9, T1), b: record(9, T3) }, 'best')).toEqual([
      'b',
      record(9, T3),
    ]);
  });

  it('last: is the latest submission, whatever its score or place', () => {
    const attempts = { a: record(6, T1), b: record(2, T3), c: record(9, T2) };
    expect(countingAttempt(attempts, 'last')).toEqual(['b', record(2, T3)]);
  });
});

describe('scoreTotals', () => {
  const record = (score: number, maxScore: number, submittedAt: string): AttemptRecord => ({
    score,
    maxScore,
    submittedAt,
    digest: 'd',
  });

  it('is zero without attempts', () => {
    expect(scoreTotals({}, 'best')).toEqual({ totalScore: 0, totalMaxScore: 0, assessments: [] });
  });

  it('sums the counting attempt of each assessment', () => {
    const attempts = {
      a1: { 'att-1': record(8, 10, T1), 'att-2': record(4, 10, T2) },
      a2: { 'att-b': record(3, 5, T1) },
    };
    expect(scoreTotals(attempts, 'best')).toEqual({
      totalScore: 11,
      totalMaxScore: 15,
      assessments: [
        { contentId: 'a1', attemptId: 'att-1', score: 8, maxScore: 10, attempts: 2 },
        { contentId: 'a2', attemptId: 'att-b', score: 3, maxScore: 5, attempts: 1 },
      ],
    });
    expect(scoreTotals(attempts, 'last')).toEqual({
      totalScore: 7,
      totalMaxScore: 15,
      assessments: [
        { contentId: 'a1', attemptId: 'att-2', score: 4, maxScore: 10, attempts: 2 },
        { contentId: 'a2', attemptId: 'att-b', score: 3, maxScore: 5, attempts: 1 },
      ],
    });
  });

  it('skips an assessment without attempts', () => {
    expect(scoreTotals({ a1: {}, a2: { x: record(2, 5, T1) } }, 'best')).toEqual({
      totalScore: 2,
      totalMaxScore: 5,
      assessments: [{ contentId: 'a2', attemptId: 'x', score: 2, maxScore: 5, attempts: 1 }],
    });
  });
});

import { ErrorCode } from '../errors/error-codes';
import { createHash } from 'node:crypto';
import { Actor, canSeeOrganisation, isAdminOf, isSameUser, isSystemAdmin } from '../auth/principal';
import { batchNotFound, canReadBatch } from '../batches/batch.decider';
import { CertificateCriteria, EnrollmentType } from '../batches/batch.events';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  RuleViolatedError,
} from '../errors/hub-error';
import { courseNotFound } from '../courses/course.decider';
import { canonicalJson } from '../event-sourcing/canonical-json';
import { Decider } from '../event-sourcing/decider';
import { userNotFound } from '../users/user.decider';
import { CourseTracking, summarizeProgress } from './course-tracking';
import {
  AssessmentScore,
  ContentState,
  ContentStatus,
  EnrolmentEvent,
  ProgressSummary,
  QuestionResponse,
  ScorePolicy,
} from './enrolment.events';

/** The batch as the handler looked it up: what enrolment and progress rules depend on. */
export interface BatchFacts {
  batchId: string;
  courseId: string;
  organisationId: string;
  createdFor: readonly string[];
  createdBy: string;
  mentors: readonly string[];
  invitees: readonly string[];
  enrollmentType: EnrollmentType;
  startsAt: string;
  endsAt: string | null;
  enrollmentEndsAt: string | null;
  certificateCriteria: CertificateCriteria;
}

interface EnrolmentCommandBase {
  actor: Actor;
  now: Date;
  batchId: string;
  /** Null when there is no such batch. */
  batch: BatchFacts | null;
  userId: string;
  /** The learner's organisation when the hub has their profile; null for an unknown user. */
  learner?: { organisationId: string } | null;
}

export type Enrol = EnrolmentCommandBase & {
  type: 'Enrol';
  learner: { organisationId: string } | null;
  /** The batch's course, whose required contents the enrolment starts with; null without a batch. */
  course: CourseTracking | null;
};

export type Unenrol = EnrolmentCommandBase & { type: 'Unenrol' };

export interface ContentUpdate {
  contentId: string;
  status: ContentStatus;
  lastAccessTime: string;
}

export type RecordProgress = EnrolmentCommandBase & {
  type: 'RecordProgress';
  course: CourseTracking;
  contents: readonly ContentUpdate[];
  /** Certificates weigh scores by it when this progress completes the course. */
  policy: ScorePolicy;
};

export type RecordAssessmentAttempt = EnrolmentCommandBase & {
  type: 'RecordAssessmentAttempt';
  course: CourseTracking;
  contentId: string;
  attemptId: string;
  submittedAt: string;
  responses: readonly QuestionResponse[];
  policy: ScorePolicy;
};

/** Whether the hub can name the certificate's recipient. */
export type Recipient = 'known' | 'unknown' | 'erased';

export type IssueCertificate = EnrolmentCommandBase & {
  type: 'IssueCertificate';
  course: CourseTracking;
  certificateId: string;
  recipient: Recipient;
  policy: ScorePolicy;
};

export type EnrolmentCommand =
  Enrol | Unenrol | RecordProgress | RecordAssessmentAttempt | IssueCertificate;

export interface AttemptRecord {
  score: number;
  maxScore: number;
  submittedAt: string;
  digest: string;
}

export type CertificateState =
  | { status: 'Issued'; certificateId: string; at: string }
  | { status: 'Failed'; code: string; reason: string; at: string };

export type EnrolmentState =
  | { exists: false }
  | {
      exists: true;
      active: boolean;
      batchId: string;
      courseId: string;
      userId: string;
      enrolledAt: string;
      contents: Readonly<Record<string, ContentState>>;
      progress: ProgressSummary | null;
      completedOn: string | null;
      /** Per assessment content, per attempt id. */
      attempts: Readonly<Record<string, Readonly<Record<string, AttemptRecord>>>>;
      certificate: CertificateState | null;
      lastContentId: string | null;
      lastAccessTime: string | null;
    };

type Enrolment = Extract<EnrolmentState, { exists: true }>;

const refuse = (code: ErrorCode, message: string, field: string) =>
  new InvalidInputError(message, [{ field, message }], code);

const at = (iso: string | null): number =>
  iso === null ? Number.POSITIVE_INFINITY : Date.parse(iso);

/** The batch's creator, its mentors and admins of its organisation look after its learners. */
export const managesBatch = (
  actor: Actor,
  batch: Pick<BatchFacts, 'createdBy' | 'mentors' | 'organisationId'>,
): boolean =>
  actor.userId === batch.createdBy ||
  batch.mentors.includes(actor.userId) ||
  isAdminOf(actor, batch.organisationId);

const visibleBatch = (command: EnrolmentCommandBase): BatchFacts => {
  const { batch, actor } = command;
  if (!batch || !canReadBatch(actor, batch)) throw batchNotFound(command.batchId);
  return batch;
};

/**
 * User ids are the hub's, across organisations: a principal of another organisation that
 * happens to carry the same id is not this user.
 */
export const actsForThemself = (
  command: Pick<EnrolmentCommandBase, 'actor' | 'userId' | 'learner'>,
): boolean => isSameUser(command.actor, command.userId, command.learner);

const batchEnded = (batch: BatchFacts, now: Date) => now.getTime() >= at(batch.endsAt);

const assertNotEnded = (batch: BatchFacts, now: Date) => {
  if (batchEnded(batch, now))
    throw new RuleViolatedError(
      'COURSE_BATCH_ALREADY_COMPLETED',
      'Course batch is already completed',
      {
        batchId: batch.batchId,
      },
    );
};

const notEnrolled = (command: EnrolmentCommandBase) =>
  new ConflictError('USER_NOT_ENROLLED_COURSE', 'User is not enrolled in this course batch', {
    batchId: command.batchId,
    userId: command.userId,
  });

const decideEnrol = (command: Enrol, state: EnrolmentState): EnrolmentEvent[] => {
  const { actor, userId, now } = command;
  const batch = visibleBatch(command);
  const self = actsForThemself(command);
  const manager = managesBatch(actor, batch);
  if (!self && !manager)
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Only the batch’s creator, its mentors or an admin enrol other users',
    );
  if (!self) {
    if (!command.learner) throw userNotFound(userId);
    const { organisationId } = command.learner;
    if (organisationId !== batch.organisationId && !batch.createdFor.includes(organisationId)) {
      // To anyone but a system admin, another organisation's user is as unknown as no user.
      if (!canSeeOrganisation(actor, organisationId)) throw userNotFound(userId);
      throw new RuleViolatedError(
        'USER_NOT_IN_BATCH_ORGANISATION',
        'The user belongs to none of the organisations the batch is for',
        { userId },
      );
    }
  }
  // The reference service never enforced invite-only; here a learner needs an invitation.
  if (
    self &&
    !manager &&
    batch.enrollmentType === 'invite-only' &&
    !batch.invitees.includes(userId)
  )
    throw new ForbiddenError(
      'ENROLLMENT_INVITE_ONLY',
      'This batch is invite-only: ask a mentor to enrol you',
      { batchId: batch.batchId },
    );
  assertNotEnded(batch, now);
  if (now.getTime() >= at(batch.enrollmentEndsAt))
    throw new RuleViolatedError(
      'COURSE_BATCH_ENROLLMENT_DATE_ENDED',
      'Course batch enrolment date has ended',
      { batchId: batch.batchId, enrollmentEndsAt: batch.enrollmentEndsAt },
    );
  if (state.exists && state.active)
    throw new ConflictError(
      'USER_ALREADY_ENROLLED_COURSE',
      'User has already enrolled in this course batch',
      {
        batchId: batch.batchId,
        userId,
      },
    );
  // A batch's course always exists: without it there would be nothing to track.
  if (!command.course) throw courseNotFound(batch.courseId);
  return [
    {
      type: 'UserEnrolled',
      data: {
        batchId: batch.batchId,
        courseId: batch.courseId,
        userId,
        enrolledBy: actor.userId,
        enrolledAt: now.toISOString(),
        revived: state.exists,
        progress: summarizeProgress(state.exists ? state.contents : {}, command.course),
      },
    },
  ];
};

const decideUnenrol = (command: Unenrol, state: EnrolmentState): EnrolmentEvent[] => {
  const { actor, userId, now } = command;
  const batch = visibleBatch(command);
  if (!actsForThemself(command) && !managesBatch(actor, batch))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Only the learner, the batch’s creator, its mentors or an admin unenrol a learner',
    );
  assertNotEnded(batch, now);
  if (!state.exists || !state.active) throw notEnrolled(command);
  if (state.completedOn !== null)
    throw new ConflictError(
      'USER_ALREADY_COMPLETED_COURSE',
      'The learner has completed the course: the enrolment stays',
      { batchId: batch.batchId, userId },
    );
  return [
    {
      type: 'UserUnenrolled',
      data: {
        batchId: batch.batchId,
        courseId: batch.courseId,
        userId,
        unenrolledBy: actor.userId,
        unenrolledAt: now.toISOString(),
      },
    },
  ];
};

/** Progress is recorded by the learner, or by a system principal on their behalf. */
const assertMayTrack = (command: EnrolmentCommandBase, state: EnrolmentState): Enrolment => {
  const { actor, now } = command;
  const batch = visibleBatch(command);
  if (!actsForThemself(command) && !isSystemAdmin(actor))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Progress is recorded by the learner or by a system principal on their behalf',
    );
  if (now.getTime() < at(batch.startsAt) || batchEnded(batch, now))
    throw new RuleViolatedError('NOT_A_ON_GOING_BATCH', 'The batch is not in progress', {
      batchId: batch.batchId,
      startsAt: batch.startsAt,
      endsAt: batch.endsAt,
    });
  if (!state.exists || !state.active) throw notEnrolled(command);
  return state;
};

const later = (a: string | null, b: string): boolean => a === null || Date.parse(b) > Date.parse(a);

/** Merges content updates (status never goes down); the events they cause, if anything moved. */
const progressEvents = (
  enrolment: Enrolment,
  command: EnrolmentCommandBase & { course: CourseTracking },
  updates: readonly ContentUpdate[],
): EnrolmentEvent[] => {
  const contents: Record<string, ContentState> = { ...enrolment.contents };
  const moved = new Map<string, ContentState>();
  let lastContentId = enrolment.lastContentId;
  let lastAccessTime = enrolment.lastAccessTime;
  for (const update of updates) {
    const before = contents[update.contentId];
    const status: ContentStatus =
      before && before.status > update.status ? before.status : update.status;
    const accessed =
      before && !later(before.lastAccessTime, update.lastAccessTime)
        ? before.lastAccessTime
        : update.lastAccessTime;
    if (before && before.status === status && before.lastAccessTime === accessed) continue;
    const next = { status, lastAccessTime: accessed };
    contents[update.contentId] = next;
    moved.set(update.contentId, next);
    if (later(lastAccessTime, update.lastAccessTime)) {
      lastAccessTime = update.lastAccessTime;
      lastContentId = update.contentId;
    }
  }
  if (moved.size === 0) return [];
  const key = {
    batchId: enrolment.batchId,
    courseId: enrolment.courseId,
    userId: enrolment.userId,
  };
  const progress = summarizeProgress(contents, command.course);
  const events: EnrolmentEvent[] = [
    {
      type: 'ContentProgressRecorded',
      data: {
        ...key,
        contents: [...moved].map(([contentId, state]) => ({ contentId, ...state })),
        lastContentId: lastContentId ?? updates[0]!.contentId,
        lastAccessTime: lastAccessTime ?? updates[0]!.lastAccessTime,
        recordedAt: command.now.toISOString(),
        progress,
      },
    },
  ];
  if (enrolment.completedOn === null && progress.completedCount >= progress.requiredCount)
    events.push({
      type: 'CourseCompleted',
      data: { ...key, completedOn: command.now.toISOString() },
    });
  return events;
};

/** How far ahead of the hub's clock a client's timestamp may be before it is refused. */
export const CLOCK_SKEW_MS = 5 * 60_000;

const inTheFuture = (iso: string, now: Date): boolean =>
  Date.parse(iso) > now.getTime() + CLOCK_SKEW_MS;

/**
 * What content updates get wrong in themselves: a content not in the course, an access time in
 * the future. The handler asks before writing anything, so one bad item refuses a whole request
 * for many learners; decide asks again for its own learner's items.
 */
export const contentUpdateIssues = (
  course: CourseTracking,
  contents: readonly { contentId: string; lastAccessTime: string }[],
  now: Date,
): { field: string; message: string }[] =>
  contents.flatMap((update, index) => {
    const field = `contents[${index}]`;
    if (!course.leaves.has(update.contentId))
      return [{ field: `${field}.contentId`, message: `${update.contentId} is not in the course` }];
    if (inTheFuture(update.lastAccessTime, now))
      return [{ field: `${field}.lastAccessTime`, message: 'lies in the future' }];
    return [];
  });

export const refuseContentUpdates = (issues: { field: string; message: string }[]): never => {
  throw new InvalidInputError(
    'Some content updates are not valid',
    issues,
    issues.some((issue) => issue.field.endsWith('contentId'))
      ? 'INVALID_CONTENT_ID'
      : 'INVALID_INPUT',
  );
};

const decideProgress = (command: RecordProgress, state: EnrolmentState): EnrolmentEvent[] => {
  const enrolment = assertMayTrack(command, state);
  const issues = contentUpdateIssues(command.course, command.contents, command.now);
  if (issues.length > 0) refuseContentUpdates(issues);
  return progressEvents(enrolment, command, command.contents);
};

/** Within one attempt the latest answer to each question wins (by answer time, then order). */
export const latestAnswers = (responses: readonly QuestionResponse[]): QuestionResponse[] => {
  const latest = new Map<string, QuestionResponse>();
  for (const response of responses) {
    const kept = latest.get(response.questionId);
    if (
      !kept ||
      response.answeredAt === null ||
      kept.answeredAt === null ||
      Date.parse(response.answeredAt) >= Date.parse(kept.answeredAt)
    )
      latest.set(response.questionId, response);
  }
  return [...latest.values()];
};

/** The attempt that counts: the highest score (best) or the latest submission (last). */
export const countingAttempt = (
  attempts: Readonly<Record<string, AttemptRecord>>,
  policy: ScorePolicy,
): [string, AttemptRecord] | null => {
  let chosen: [string, AttemptRecord] | null = null;
  for (const entry of Object.entries(attempts)) {
    if (!chosen) {
      chosen = entry;
      continue;
    }
    const [, candidate] = entry;
    const [, current] = chosen;
    const newer = Date.parse(candidate.submittedAt) > Date.parse(current.submittedAt);
    const better =
      policy === 'best'
        ? candidate.score > current.score || (candidate.score === current.score && newer)
        : newer;
    if (better) chosen = entry;
  }
  return chosen;
};

export const scoreTotals = (
  attempts: Enrolment['attempts'],
  policy: ScorePolicy,
): { totalScore: number; totalMaxScore: number; assessments: AssessmentScore[] } => {
  const assessments: AssessmentScore[] = [];
  for (const [contentId, byAttempt] of Object.entries(attempts)) {
    const counting = countingAttempt(byAttempt, policy);
    if (!counting) continue;
    const [attemptId, record] = counting;
    assessments.push({
      contentId,
      attemptId,
      score: record.score,
      maxScore: record.maxScore,
      attempts: Object.keys(byAttempt).length,
    });
  }
  return {
    totalScore: assessments.reduce((sum, a) => sum + a.score, 0),
    totalMaxScore: assessments.reduce((sum, a) => sum + a.maxScore, 0),
    assessments,
  };
};

/** Scores may be fractional: sums that differ by rounding alone are the same. */
const sameScore = (a: number, b: number): boolean =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * The attempt's maximum is the assessment's, as the course declares it: the responses may give
 * their own maxima, all of them adding up to it, or none; no score may exceed its maximum.
 */
const attemptMaximum = (
  contentId: string,
  declared: number | null,
  responses: readonly QuestionResponse[],
): number => {
  if (declared === null)
    throw new RuleViolatedError(
      'ASSESSMENT_MAX_SCORE_UNDECLARED',
      `The course declares no maxScore for assessment ${contentId}: its attempts cannot be scored`,
      { contentId },
    );
  responses.forEach((response, index) => {
    if (response.maxScore !== null && response.score > response.maxScore)
      throw refuse(
        'INVALID_SCORE',
        `The score of question ${response.questionId} exceeds its maximum`,
        `responses[${index}].score`,
      );
  });
  const given = responses.filter((response) => response.maxScore !== null);
  if (given.length > 0 && given.length < responses.length)
    throw refuse(
      'ATTEMPT_MAX_SCORE_MISMATCH',
      'Either every response gives its maxScore or none does',
      `responses[${responses.findIndex((response) => response.maxScore === null)}].maxScore`,
    );
  const sum = given.reduce((total, response) => total + response.maxScore!, 0);
  if (given.length > 0 && !sameScore(sum, declared))
    throw refuse(
      'ATTEMPT_MAX_SCORE_MISMATCH',
      `The responses' maxScore add up to ${sum}, not to the assessment's maxScore, ${declared}`,
      'responses',
    );
  const score = responses.reduce((total, response) => total + response.score, 0);
  if (score > declared && !sameScore(score, declared))
    throw refuse(
      'SCORE_ABOVE_MAX',
      `The responses score ${score}, above the assessment's maxScore, ${declared}`,
      'responses',
    );
  return declared;
};

const decideAttempt = (
  command: RecordAssessmentAttempt,
  state: EnrolmentState,
): EnrolmentEvent[] => {
  const enrolment = assertMayTrack(command, state);
  const { course, contentId, attemptId, submittedAt, policy } = command;
  if (inTheFuture(submittedAt, command.now))
    throw refuse('INVALID_INPUT', 'The attempt was submitted in the future', 'submittedAt');
  const leaf = course.leaves.get(contentId);
  if (leaf?.kind !== 'assessment')
    throw refuse(
      'INVALID_CONTENT_ID',
      `${contentId} is not an assessment of the course`,
      'contentId',
    );
  const responses = latestAnswers(command.responses);
  const maxScore = attemptMaximum(contentId, leaf.maxScore, responses);
  const digest = createHash('sha256')
    .update(canonicalJson({ submittedAt, responses: [...responses].sort(byQuestion) }))
    .digest('base64url');
  const earlier = enrolment.attempts[contentId]?.[attemptId];
  // A retry of the same submission, or an older copy arriving late, changes nothing.
  if (
    earlier &&
    (earlier.digest === digest || Date.parse(submittedAt) < Date.parse(earlier.submittedAt))
  )
    return [];
  const score = responses.reduce((sum, r) => sum + r.score, 0);
  const attempts = {
    ...enrolment.attempts,
    [contentId]: {
      ...enrolment.attempts[contentId],
      [attemptId]: { score, maxScore, submittedAt, digest },
    },
  };
  const totals = scoreTotals(attempts, policy);
  const key = {
    batchId: enrolment.batchId,
    courseId: enrolment.courseId,
    userId: enrolment.userId,
  };
  const recorded: EnrolmentEvent = {
    type: 'AssessmentAttemptRecorded',
    data: {
      ...key,
      contentId,
      attemptId,
      submittedAt,
      recordedAt: command.now.toISOString(),
      responses,
      score,
      maxScore,
      hierarchyVersion: course.hierarchyVersion,
      digest,
      replaced: earlier !== undefined,
      assessment: totals.assessments.find((a) => a.contentId === contentId)!,
      totalScore: totals.totalScore,
      totalMaxScore: totals.totalMaxScore,
      policy,
    },
  };
  const afterAttempt = enrolmentDecider.evolve(enrolment, recorded) as Enrolment;
  return [
    recorded,
    ...progressEvents(afterAttempt, command, [
      { contentId, status: 2, lastAccessTime: submittedAt },
    ]),
  ];
};

const byQuestion = (a: QuestionResponse, b: QuestionResponse) =>
  a.questionId < b.questionId ? -1 : a.questionId > b.questionId ? 1 : 0;

export interface CertificateCheck {
  eligible: boolean;
  progressPercent: number;
  scorePercent: number | null;
  /** Set when the enrolment meets the criteria as far as it can but issuing cannot succeed. */
  failure: { code: string; reason: string } | null;
}

/** Whether the enrolment meets the batch's criteria: completion, then the score rule. */
export const checkCertificate = (
  enrolment: Enrolment,
  course: CourseTracking,
  criteria: CertificateCriteria,
  policy: ScorePolicy,
): CertificateCheck => {
  // Completion is for good: a course that later gains contents does not undo it.
  const progressPercent =
    enrolment.completedOn === null ? summarizeProgress(enrolment.contents, course).percent : 100;
  const none = { eligible: false, progressPercent, scorePercent: null, failure: null };
  if (!enrolment.active || progressPercent < criteria.minCompletionPercent) return none;
  if (criteria.minScorePercent === null) return { ...none, eligible: true };
  if (course.assessmentIds.length === 0) {
    // The default score rule is for courses with assessments; a rule the batch was given is not.
    if (criteria.scoreRuleDefaulted === true) return { ...none, eligible: true };
    return {
      ...none,
      failure: {
        code: 'NO_ASSESSMENT_FOR_SCORE_RULE',
        reason: 'The batch requires a minimum score but the course has no assessment',
      },
    };
  }
  const { totalScore, totalMaxScore } = scoreTotals(enrolment.attempts, policy);
  if (totalMaxScore === 0) return none;
  const scorePercent = (totalScore * 100) / totalMaxScore;
  return { ...none, scorePercent, eligible: scorePercent >= criteria.minScorePercent };
};

/** True when an IssueCertificate would append something: the handler then looks the recipient up. */
export const certificateDue = (
  state: EnrolmentState,
  course: CourseTracking,
  criteria: CertificateCriteria,
  policy: ScorePolicy,
): boolean => {
  if (!state.exists || state.certificate?.status === 'Issued') return false;
  const check = checkCertificate(state, course, criteria, policy);
  if (check.failure) return state.certificate?.code !== check.failure.code;
  return check.eligible;
};

const RECIPIENT_FAILURES: Record<Exclude<Recipient, 'known'>, { code: string; reason: string }> = {
  unknown: {
    code: 'RECIPIENT_UNKNOWN',
    reason: 'The hub has no profile for the learner to name on the certificate',
  },
  erased: {
    code: 'RECIPIENT_ERASED',
    reason: 'The learner’s personal data was erased: there is no name to put on the certificate',
  },
};

const decideCertificate = (command: IssueCertificate, state: EnrolmentState): EnrolmentEvent[] => {
  const { actor, now } = command;
  const batch = visibleBatch(command);
  if (!managesBatch(actor, batch))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Only the batch’s creator, its mentors or an admin issue certificates',
    );
  if (!state.exists || state.certificate?.status === 'Issued') return [];
  const check = checkCertificate(state, command.course, batch.certificateCriteria, command.policy);
  const failure =
    check.failure ??
    (check.eligible && command.recipient !== 'known'
      ? RECIPIENT_FAILURES[command.recipient]
      : null);
  const key = { batchId: state.batchId, courseId: state.courseId, userId: state.userId };
  if (failure) {
    if (state.certificate?.status === 'Failed' && state.certificate.code === failure.code)
      return [];
    return [
      { type: 'CertificateIssueFailed', data: { ...key, ...failure, failedAt: now.toISOString() } },
    ];
  }
  if (!check.eligible) return [];
  return [
    {
      type: 'CertificateIssued',
      data: {
        ...key,
        certificateId: command.certificateId,
        issuedAt: now.toISOString(),
        progressPercent: check.progressPercent,
        scorePercent: check.scorePercent,
      },
    },
  ];
};

export const enrolmentDecider: Decider<EnrolmentCommand, EnrolmentEvent, EnrolmentState> = {
  initialState: () => ({ exists: false }),

  decide: (command, state) => {
    switch (command.type) {
      case 'Enrol':
        return decideEnrol(command, state);
      case 'Unenrol':
        return decideUnenrol(command, state);
      case 'RecordProgress':
        return decideProgress(command, state);
      case 'RecordAssessmentAttempt':
        return decideAttempt(command, state);
      case 'IssueCertificate':
        return decideCertificate(command, state);
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },

  evolve: (state, event) => {
    if (event.type === 'UserEnrolled') {
      const { batchId, courseId, userId, enrolledAt, progress } = event.data;
      // Enrolments recorded before UserEnrolled carried progress learn it from their first progress.
      if (state.exists) return { ...state, active: true, progress: progress ?? state.progress };
      return {
        exists: true,
        active: true,
        batchId,
        courseId,
        userId,
        enrolledAt,
        contents: {},
        progress: progress ?? null,
        completedOn: null,
        attempts: {},
        certificate: null,
        lastContentId: null,
        lastAccessTime: null,
      };
    }
    if (!state.exists) return state;
    switch (event.type) {
      case 'UserUnenrolled':
        return { ...state, active: false };
      case 'ContentProgressRecorded': {
        const contents = { ...state.contents };
        for (const { contentId, status, lastAccessTime } of event.data.contents)
          contents[contentId] = { status, lastAccessTime };
        return {
          ...state,
          contents,
          progress: event.data.progress,
          lastContentId: event.data.lastContentId,
          lastAccessTime: event.data.lastAccessTime,
        };
      }
      case 'AssessmentAttemptRecorded': {
        const { contentId, attemptId, score, maxScore, submittedAt, digest } = event.data;
        return {
          ...state,
          attempts: {
            ...state.attempts,
            [contentId]: {
              ...state.attempts[contentId],
              [attemptId]: { score, maxScore, submittedAt, digest },
            },
          },
        };
      }
      case 'CourseCompleted':
        return { ...state, completedOn: event.data.completedOn };
      case 'CertificateIssued':
        return {
          ...state,
          certificate: {
            status: 'Issued',
            certificateId: event.data.certificateId,
            at: event.data.issuedAt,
          },
        };
      case 'CertificateIssueFailed':
        return {
          ...state,
          certificate: {
            status: 'Failed',
            code: event.data.code,
            reason: event.data.reason,
            at: event.data.failedAt,
          },
        };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};

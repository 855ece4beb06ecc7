import { DomainEvent } from '../event-sourcing/decider';

/** One stream per learner and batch. `/` never occurs in identifiers, so names cannot collide. */
export const enrolmentStream = (batchId: string, userId: string): string =>
  `enrolment-${batchId}/${userId}`;
export const ENROLMENT_STREAM_PREFIX = 'enrolment-';

/** 1 in progress, 2 completed: a content's status only ever goes up. */
export type ContentStatus = 1 | 2;

export interface ContentState {
  status: ContentStatus;
  lastAccessTime: string;
}

/** Course progress after an event, so read models set it rather than recompute it. */
export interface ProgressSummary {
  completedCount: number;
  requiredCount: number;
  /** completedCount / requiredCount as an integer percent, rounded down; 100 only when all done. */
  percent: number;
  /** Per nested unit, the same ratio over the unit's own required contents. */
  units: Record<string, number>;
}

export interface QuestionResponse {
  questionId: string;
  type: string;
  title: string;
  options: unknown[];
  response: unknown;
  score: number;
  /**
   * The question's maximum as the player sent it; null when it sent none. Either every response
   * of an attempt has one, adding up to the assessment's declared maximum, or none has.
   */
  maxScore: number | null;
  /** Seconds spent on the question. */
  duration: number;
  answeredAt: string | null;
}

export type ScorePolicy = 'best' | 'last';

/** The attempt that counts for one assessment under the hub's score policy. */
export interface AssessmentScore {
  contentId: string;
  attemptId: string;
  score: number;
  maxScore: number;
  attempts: number;
}

interface EnrolmentKey {
  batchId: string;
  courseId: string;
  userId: string;
}

export type UserEnrolled = DomainEvent<
  'UserEnrolled',
  EnrolmentKey & {
    enrolledBy: string;
    enrolledAt: string;
    /** Re-enrolment after an unenrolment: the earlier progress counts again. */
    revived: boolean;
    /**
     * Course progress at enrolment, against the course's hierarchy then: what it requires from
     * the start (and, on a revival, what was done before). Absent on enrolments recorded before
     * it was carried: their progress is known from their first progress on.
     */
    progress?: ProgressSummary;
  }
>;

export type UserUnenrolled = DomainEvent<
  'UserUnenrolled',
  EnrolmentKey & { unenrolledBy: string; unenrolledAt: string }
>;

export type ContentProgressRecorded = DomainEvent<
  'ContentProgressRecorded',
  EnrolmentKey & {
    /** Only the contents whose status or last access moved. */
    contents: ({ contentId: string } & ContentState)[];
    lastContentId: string;
    lastAccessTime: string;
    recordedAt: string;
    progress: ProgressSummary;
  }
>;

export type AssessmentAttemptRecorded = DomainEvent<
  'AssessmentAttemptRecorded',
  EnrolmentKey & {
    contentId: string;
    attemptId: string;
    submittedAt: string;
    recordedAt: string;
    /** One per question: the latest answer within the attempt. */
    responses: QuestionResponse[];
    score: number;
    /**
     * The attempt's maximum: the assessment's declared maxScore in the course hierarchy of
     * `hierarchyVersion`. A later hierarchy does not change it. Attempts recorded before the
     * hierarchy was the authority carry no `hierarchyVersion`, and the responses' sum here.
     */
    maxScore: number;
    hierarchyVersion?: number;
    /** Fingerprint of the attempt as submitted: an identical resubmission changes nothing. */
    digest: string;
    /** True when this replaces an earlier submission of the same attempt id. */
    replaced: boolean;
    /** The counting attempt of this assessment and the total over all assessments, after it. */
    assessment: AssessmentScore;
    totalScore: number;
    totalMaxScore: number;
    policy: ScorePolicy;
  }
>;

export type CourseCompleted = DomainEvent<
  'CourseCompleted',
  EnrolmentKey & { completedOn: string }
>;

export type CertificateIssued = DomainEvent<
  'CertificateIssued',
  EnrolmentKey & {
    certificateId: string;
    issuedAt: string;
    progressPercent: number;
    /** Total score in percent of the maximum; null when the batch has no score rule. */
    scorePercent: number | null;
  }
>;

export type CertificateIssueFailed = DomainEvent<
  'CertificateIssueFailed',
  EnrolmentKey & { code: string; reason: string; failedAt: string }
>;

export type EnrolmentEvent =
  | UserEnrolled
  | UserUnenrolled
  | ContentProgressRecorded
  | AssessmentAttemptRecorded
  | CourseCompleted
  | CertificateIssued
  | CertificateIssueFailed;

export const ENROLMENT_EVENT_TYPES: readonly EnrolmentEvent['type'][] = [
  'UserEnrolled',
  'UserUnenrolled',
  'ContentProgressRecorded',
  'AssessmentAttemptRecorded',
  'CourseCompleted',
  'CertificateIssued',
  'CertificateIssueFailed',
];

/** How a certificate stands, as reports show it: Issued, Failed or blank. */
export type CertificateStatus = 'Issued' | 'Failed' | null;

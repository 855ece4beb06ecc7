import { DomainEvent } from '../event-sourcing/decider';

export const batchStream = (batchId: string): string => `batch-${batchId}`;
export const BATCH_STREAM_PREFIX = 'batch-';

export type EnrollmentType = 'open' | 'invite-only';
export const ENROLLMENT_TYPES: readonly EnrollmentType[] = ['open', 'invite-only'];

/** 0 upcoming, 1 in progress, 2 ended: the reference system's numbering. */
export type BatchStatus = 0 | 1 | 2;

export interface CertificateCriteria {
  /** Course progress an enrolment needs, in percent. */
  minCompletionPercent: number;
  /** Total assessment score needed, in percent of the maximum; null: no score rule. */
  minScorePercent: number | null;
  /**
   * True when minScorePercent is the default, not given: the default score rule applies only to
   * courses with assessments (a given one to every course). Absent on batches recorded before
   * it was kept: their rule counts as given.
   */
  scoreRuleDefaulted?: boolean;
}

/** A batch created without criteria: the whole course, and 70 % when it has assessments. */
export const DEFAULT_CERTIFICATE_CRITERIA: CertificateCriteria = {
  minCompletionPercent: 100,
  minScorePercent: 70,
  scoreRuleDefaulted: true,
};

/**
 * A batch boundary: the value as the client gave it (a calendar date or an instant) and the
 * instant it resolved to when recorded, so a later change of HUB_TIMEZONE cannot move it.
 * End boundaries are exclusive: a date-only end date ends at the start of the next day.
 */
export interface BatchBoundary {
  given: string;
  at: string;
}

export interface BatchDetails {
  name: string;
  description: string | null;
  enrollmentType: EnrollmentType;
  start: BatchBoundary;
  end: BatchBoundary | null;
  enrollmentEnd: BatchBoundary | null;
  /** True when enrollmentEnd was derived from the end date rather than given. */
  enrollmentEndDefaulted: boolean;
  createdFor: string[];
  mentors: string[];
  invitees: string[];
  certificateCriteria: CertificateCriteria;
  /**
   * The LMS course run this batch's enrolments mirror to, instead of the course's. Absent in
   * batches created before it existed, and when not given: the course's link applies.
   */
  lmsResourceLink?: string | null;
}

export type BatchCreated = DomainEvent<
  'BatchCreated',
  BatchDetails & {
    batchId: string;
    courseId: string;
    organisationId: string;
    createdBy: string;
    createdAt: string;
  }
>;

export type BatchChanges = {
  [Field in keyof BatchDetails]?: { from: BatchDetails[Field]; to: BatchDetails[Field] };
};

/** The details after a BatchUpdated: every changed field takes its `to` value. */
export const applyBatchChanges = <Details extends BatchDetails>(
  details: Details,
  changes: BatchChanges,
): Details => {
  const next = { ...details };
  for (const [field, change] of Object.entries(changes))
    (next as Record<string, unknown>)[field] = change.to;
  return next;
};

export type BatchUpdated = DomainEvent<
  'BatchUpdated',
  { batchId: string; courseId: string; changes: BatchChanges; updatedBy: string; updatedAt: string }
>;

/** The end date moved later: allowed even after the batch closed. */
export type BatchEndDateExtended = DomainEvent<
  'BatchEndDateExtended',
  {
    batchId: string;
    courseId: string;
    from: BatchBoundary;
    to: BatchBoundary;
    extendedBy: string;
    extendedAt: string;
  }
>;

/** Status transitions: `effectiveAt` is the boundary, `recordedAt` when the hub noticed it. */
export type BatchStarted = DomainEvent<
  'BatchStarted',
  { batchId: string; courseId: string; effectiveAt: string; recordedAt: string }
>;

export type BatchEnded = DomainEvent<
  'BatchEnded',
  { batchId: string; courseId: string; effectiveAt: string; recordedAt: string }
>;

/** An ended batch whose end date was extended into the future is in progress again. */
export type BatchReopened = DomainEvent<
  'BatchReopened',
  { batchId: string; courseId: string; effectiveAt: string; recordedAt: string }
>;

export type BatchEvent =
  BatchCreated | BatchUpdated | BatchEndDateExtended | BatchStarted | BatchEnded | BatchReopened;

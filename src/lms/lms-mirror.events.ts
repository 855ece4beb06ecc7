import { createHash } from 'node:crypto';
import { DomainEvent } from '../event-sourcing/decider';

/**
 * One stream per learner and LMS course (a resource link): every outcome of making that LMS
 * agree with the hub. A digest names the link, which may hold any character. Outcomes carry no
 * LMS username: it is personal data (an external id, an e-mail), and the log keeps events after
 * the person is erased.
 */
export const lmsMirrorStream = (userId: string, resourceLink: string): string =>
  `${LMS_MIRROR_STREAM_PREFIX}${userId}/${createHash('sha256').update(resourceLink).digest('hex').slice(0, 32)}`;
export const LMS_MIRROR_STREAM_PREFIX = 'lms-mirror-';
export const lmsMirrorRequestStream = (batchId: string): string =>
  `${LMS_MIRROR_REQUEST_STREAM_PREFIX}${batchId}`;
export const LMS_MIRROR_REQUEST_STREAM_PREFIX = 'lms-mirror-request-';

interface MirrorTarget {
  userId: string;
  resourceLink: string;
  /** The backend (`openedx-0`) and its course id, as the configuration resolved the link. */
  lms: string;
  lmsCourseId: string;
  /** The desired state this outcome answers: the log position that last changed it. */
  desiredVersion: string;
  /** The lease the outcome's claim took (an instance and its claim): applying it hands it back. */
  lease: string;
}

export type LmsEnrollmentMirrored = DomainEvent<
  'LmsEnrollmentMirrored',
  MirrorTarget & {
    active: boolean;
    /** False when the LMS already agreed: it was read, not written. */
    changed: boolean;
    calls: number;
    attempt: number;
    mirroredAt: string;
  }
>;

export type LmsEnrollmentMirrorFailed = DomainEvent<
  'LmsEnrollmentMirrorFailed',
  Omit<MirrorTarget, 'lms' | 'lmsCourseId'> & {
    lms: string | null;
    lmsCourseId: string | null;
    active: boolean;
    /** The LMS's HTTP status; null for a network error, a timeout or a failure before any call. */
    status: number | null;
    message: string;
    attempt: number;
    /** When to try again; null when trying again cannot help until something changes. */
    nextAttemptAt: string | null;
    failedAt: string;
  }
>;

/** Someone asked for a batch (or one of its learners) to be mirrored again. */
export type LmsMirrorRequested = DomainEvent<
  'LmsMirrorRequested',
  { batchId: string; userId: string | null; requestedBy: string; requestedAt: string }
>;

export type LmsMirrorEvent = LmsEnrollmentMirrored | LmsEnrollmentMirrorFailed | LmsMirrorRequested;

import { Decider, DomainEvent } from '../event-sourcing/decider';

/**
 * A bulk enrolment, as the domain records it: who asked to enrol how many users into which
 * batch, and how it ended. The job runner's table says how the work is going; these say what
 * happened, for the audit trail and for subscribers. Each user's enrolment is its own
 * UserEnrolled event (with the job's id in its metadata).
 */
export const bulkEnrolmentStream = (jobId: string): string => `bulk-enrolment-${jobId}`;

export interface BulkCounts {
  enrolled: number;
  alreadyEnrolled: number;
  failed: number;
}

export type BulkEnrolmentRequested = DomainEvent<
  'BulkEnrolmentRequested',
  {
    jobId: string;
    batchId: string;
    organisationId: string;
    requestedBy: string;
    total: number;
    requestedAt: string;
  }
>;

export type BulkEnrolmentCompleted = DomainEvent<
  'BulkEnrolmentCompleted',
  BulkCounts & { jobId: string; batchId: string; total: number; completedAt: string }
>;

export type BulkEnrolmentFailed = DomainEvent<
  'BulkEnrolmentFailed',
  { jobId: string; batchId: string; error: string; failedAt: string }
>;

export type BulkEnrolmentCancelled = DomainEvent<
  'BulkEnrolmentCancelled',
  { jobId: string; batchId: string; cancelledBy: string; cancelledAt: string }
>;

export type BulkEnrolmentEvent =
  BulkEnrolmentRequested | BulkEnrolmentCompleted | BulkEnrolmentFailed | BulkEnrolmentCancelled;

export type BulkEnrolmentCommand =
  | { type: 'RequestBulkEnrolment'; data: BulkEnrolmentRequested['data'] }
  | { type: 'CompleteBulkEnrolment'; data: BulkEnrolmentCompleted['data'] }
  | { type: 'FailBulkEnrolment'; data: BulkEnrolmentFailed['data'] }
  | { type: 'CancelBulkEnrolment'; data: BulkEnrolmentCancelled['data'] };

export interface BulkEnrolmentState {
  requested: boolean;
  ended: boolean;
}

/**
 * Each fact is recorded once, however often the job runner's at-least-once hooks (a retried
 * attempt, an instance taking over) ask: a request already recorded, or a second ending, decides
 * nothing.
 */
export const bulkEnrolmentDecider: Decider<
  BulkEnrolmentCommand,
  BulkEnrolmentEvent,
  BulkEnrolmentState
> = {
  initialState: () => ({ requested: false, ended: false }),
  decide: (command, state) => {
    switch (command.type) {
      case 'RequestBulkEnrolment':
        return state.requested || state.ended
          ? []
          : [{ type: 'BulkEnrolmentRequested', data: command.data }];
      case 'CompleteBulkEnrolment':
        return state.ended ? [] : [{ type: 'BulkEnrolmentCompleted', data: command.data }];
      case 'FailBulkEnrolment':
        return state.ended ? [] : [{ type: 'BulkEnrolmentFailed', data: command.data }];
      case 'CancelBulkEnrolment':
        return state.ended ? [] : [{ type: 'BulkEnrolmentCancelled', data: command.data }];
      default: {
        const unknown: never = command;
        return unknown;
      }
    }
  },
  evolve: (state, event) =>
    event.type === 'BulkEnrolmentRequested'
      ? { ...state, requested: true }
      : { ...state, ended: true },
};

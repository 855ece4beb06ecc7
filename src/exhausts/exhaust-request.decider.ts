import { createHash } from 'node:crypto';
import { NotFoundError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import {
  ExhaustFile,
  ExhaustRequested,
  ExhaustRequestEvent,
  ExhaustStatus,
} from './exhaust-request.events';
import { ExhaustType } from './reports/exhaust-types';

/** The reference's limit on batches in one request. */
export const MAX_BATCHES_PER_REQUEST = 20;
/** The reference's message when no batch of a request had anything to report. */
export const NO_DATA_FOUND = 'No data found';

/**
 * The reference's request id: MD5 over tag, type, requester, organisation and day, so the same
 * request on the same day is the same request. (MD5 as an identifier, not for security.)
 */
export const exhaustRequestId = (parts: {
  tag: string;
  type: ExhaustType;
  requestedBy: string;
  organisationId: string;
  day: string;
}): string =>
  createHash('md5')
    .update([parts.tag, parts.type, parts.requestedBy, parts.organisationId, parts.day].join('|'))
    .digest('hex')
    .toUpperCase();

export type RequestExhaust = {
  type: 'RequestExhaust';
  request: ExhaustRequested['data'];
};
export type StartExhaust = { type: 'StartExhaust'; requestId: string; now: string };
export type FinishExhaust = {
  type: 'FinishExhaust';
  requestId: string;
  files: ExhaustFile[];
  skippedBatchIds: string[];
  now: string;
  executionMs: number;
};
export type FailExhaust = { type: 'FailExhaust'; requestId: string; error: string; now: string };
export type RecordExhaustDownload = {
  type: 'RecordExhaustDownload';
  requestId: string;
  batchId: string;
  downloadedBy: string;
  now: string;
};

export type ExhaustRequestCommand =
  RequestExhaust | StartExhaust | FinishExhaust | FailExhaust | RecordExhaustDownload;

export type ExhaustRequestState =
  | { exists: false }
  | {
      exists: true;
      request: ExhaustRequested['data'];
      status: ExhaustStatus;
      /** Failed runs so far: the reference's `iteration`. */
      iteration: number;
      files: ExhaustFile[];
      error: string | null;
      /** When the last run ended, and how long it took. */
      endedAt: string | null;
      executionMs: number | null;
    };

type Existing = Extract<ExhaustRequestState, { exists: true }>;

const requestNotFound = (requestId: string) =>
  new NotFoundError('JOB_NOT_FOUND', `No report request ${requestId}`, { requestId });

const existing = (state: ExhaustRequestState, requestId: string): Existing => {
  if (!state.exists) throw requestNotFound(requestId);
  return state;
};

/** New: recorded. Failed: run again. Otherwise the request as it stands answers (nothing new). */
const decideRequest = (
  { request }: RequestExhaust,
  state: ExhaustRequestState,
): ExhaustRequestEvent[] => {
  if (!state.exists) return [{ type: 'ExhaustRequested', data: request }];
  if (state.status !== 'FAILED') return [];
  return [
    {
      type: 'ExhaustResubmitted',
      data: {
        requestId: request.requestId,
        encrypted: request.encrypted,
        resubmittedAt: request.requestedAt,
      },
    },
  ];
};

/** A worker picks the request up (again after a failed run); a second pick-up records nothing. */
const decideStart = (command: StartExhaust, state: ExhaustRequestState): ExhaustRequestEvent[] => {
  const request = existing(state, command.requestId);
  // A late pick-up of a request already made finds nothing to do either.
  if (request.status === 'PROCESSING' || request.status === 'SUCCESS') return [];
  return [
    { type: 'ExhaustStarted', data: { requestId: command.requestId, startedAt: command.now } },
  ];
};

/** Files made: done. Nothing to report in any batch: failed, with the reference's message. */
const decideFinish = (
  command: FinishExhaust,
  state: ExhaustRequestState,
): ExhaustRequestEvent[] => {
  const request = existing(state, command.requestId);
  if (request.status !== 'PROCESSING') return [];
  if (command.files.length === 0)
    return [
      {
        type: 'ExhaustFailed',
        data: { requestId: command.requestId, error: NO_DATA_FOUND, failedAt: command.now },
      },
    ];
  return [
    {
      type: 'ExhaustCompleted',
      data: {
        requestId: command.requestId,
        files: command.files,
        skippedBatchIds: command.skippedBatchIds,
        completedAt: command.now,
        executionMs: command.executionMs,
      },
    },
  ];
};

const decideFail = (command: FailExhaust, state: ExhaustRequestState): ExhaustRequestEvent[] => {
  const request = existing(state, command.requestId);
  if (request.status !== 'PROCESSING' && request.status !== 'SUBMITTED') return [];
  return [
    {
      type: 'ExhaustFailed',
      data: { requestId: command.requestId, error: command.error, failedAt: command.now },
    },
  ];
};

/** Only a made file is downloaded; every download counts (the download ratio is made of them). */
const decideDownload = (
  command: RecordExhaustDownload,
  state: ExhaustRequestState,
): ExhaustRequestEvent[] => {
  const request = existing(state, command.requestId);
  const file =
    request.status === 'SUCCESS'
      ? request.files.find((made) => made.batchId === command.batchId)
      : undefined;
  if (!file)
    throw new NotFoundError('FILE_NOT_FOUND', `No file for batch ${command.batchId}`, {
      requestId: command.requestId,
      batchId: command.batchId,
    });
  return [
    {
      type: 'ExhaustDownloaded',
      data: {
        requestId: command.requestId,
        batchId: command.batchId,
        key: file.key,
        downloadedBy: command.downloadedBy,
        downloadedAt: command.now,
      },
    },
  ];
};

const evolve = (state: ExhaustRequestState, event: ExhaustRequestEvent): ExhaustRequestState => {
  if (event.type === 'ExhaustRequested')
    return {
      exists: true,
      request: event.data,
      status: 'SUBMITTED',
      iteration: 0,
      files: [],
      error: null,
      endedAt: null,
      executionMs: null,
    };
  if (!state.exists) return state;
  switch (event.type) {
    case 'ExhaustStarted':
      return { ...state, status: 'PROCESSING' };
    case 'ExhaustCompleted':
      return {
        ...state,
        status: 'SUCCESS',
        files: event.data.files,
        error: null,
        endedAt: event.data.completedAt,
        executionMs: event.data.executionMs,
      };
    case 'ExhaustFailed':
      return {
        ...state,
        status: 'FAILED',
        iteration: state.iteration + 1,
        error: event.data.error,
        endedAt: event.data.failedAt,
      };
    case 'ExhaustResubmitted':
      return {
        ...state,
        status: 'SUBMITTED',
        request: { ...state.request, encrypted: event.data.encrypted },
      };
    case 'ExhaustDownloaded':
      return state;
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
};

export const exhaustRequestDecider: Decider<
  ExhaustRequestCommand,
  ExhaustRequestEvent,
  ExhaustRequestState
> = {
  initialState: () => ({ exists: false }),
  decide: (command, state) => {
    switch (command.type) {
      case 'RequestExhaust':
        return decideRequest(command, state);
      case 'StartExhaust':
        return decideStart(command, state);
      case 'FinishExhaust':
        return decideFinish(command, state);
      case 'FailExhaust':
        return decideFail(command, state);
      case 'RecordExhaustDownload':
        return decideDownload(command, state);
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },
  evolve,
};

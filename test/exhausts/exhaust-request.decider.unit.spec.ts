import { NotFoundError } from '../../src/errors/hub-error';
import {
  exhaustRequestDecider,
  exhaustRequestId,
  NO_DATA_FOUND,
} from '../../src/exhausts/exhaust-request.decider';
import { ExhaustRequested, ExhaustRequestEvent } from '../../src/exhausts/exhaust-request.events';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(exhaustRequestDecider);
const requestId = 'A1B2';
const request: ExhaustRequested['data'] = {
  requestId,
  tag: 'do_1_b1:org-a',
  type: 'progress-exhaust',
  batchIds: ['b1', 'b2'],
  requestedBy: 'mentor-1',
  organisationId: 'org-a',
  encrypted: false,
  requestedAt: '2026-12-03T08:00:00.000Z',
};
const file = {
  batchId: 'b1',
  key: `progress-exhaust/${requestId}/b1_progress_20261203.zip`,
  bytes: 120,
  rows: 3,
};
const requested: ExhaustRequestEvent = { type: 'ExhaustRequested', data: request };
const started: ExhaustRequestEvent = {
  type: 'ExhaustStarted',
  data: { requestId, startedAt: '2026-12-03T08:00:01.000Z' },
};
const failed: ExhaustRequestEvent = {
  type: 'ExhaustFailed',
  data: { requestId, error: 'boom', failedAt: '2026-12-03T08:00:02.000Z' },
};
const completed: ExhaustRequestEvent = {
  type: 'ExhaustCompleted',
  data: {
    requestId,
    files: [file],
    skippedBatchIds: ['b2'],
    completedAt: '2026-12-03T08:00:03.000Z',
    executionMs: 2000,
  },
};

describe('exhaust request decider', () => {
  it('derives the same upper-case MD5 request id for the same request on the same day only', () => {
    const parts = {
      tag: 'do_1_b1:org-a',
      type: 'progress-exhaust' as const,
      requestedBy: 'mentor-1',
      organisationId: 'org-a',
      day: '2026-12-03',
    };
    // md5("do_1_b1:org-a|progress-exhaust|mentor-1|org-a|2026-12-03"), computed with md5sum
    expect(exhaustRequestId(parts)).toBe('C01446E8F6C1B93221CA78B1BF905AE8');
    expect(exhaustRequestId({ ...parts, day: '2026-12-04' })).not.toBe(exhaustRequestId(parts));
    expect(exhaustRequestId({ ...parts, type: 'userinfo-exhaust' })).not.toBe(
      exhaustRequestId(parts),
    );
  });

  it('records a new request', () => {
    spec.given([]).when({ type: 'RequestExhaust', request }).then([requested]);
  });

  it('answers the same request again with nothing new while it is pending, running or made', () => {
    spec.given([requested]).when({ type: 'RequestExhaust', request }).thenNothingHappens();
    spec.given([requested, started]).when({ type: 'RequestExhaust', request }).thenNothingHappens();
    spec
      .given([requested, started, completed])
      .when({ type: 'RequestExhaust', request })
      .thenNothingHappens();
  });

  it('resubmits a failed request', () => {
    spec
      .given([requested, started, failed])
      .when({
        type: 'RequestExhaust',
        request: { ...request, requestedAt: '2026-12-03T09:00:00.000Z' },
      })
      .then([
        {
          type: 'ExhaustResubmitted',
          data: { requestId, encrypted: false, resubmittedAt: '2026-12-03T09:00:00.000Z' },
        },
      ]);
  });

  it('starts a submitted or failed request once; a second pick-up records nothing', () => {
    const now = '2026-12-03T08:00:01.000Z';
    spec.given([requested]).when({ type: 'StartExhaust', requestId, now }).then([started]);
    spec
      .given([requested, started, failed])
      .when({ type: 'StartExhaust', requestId, now })
      .then([started]);
    spec
      .given([requested, started])
      .when({ type: 'StartExhaust', requestId, now })
      .thenNothingHappens();
    spec
      .given([requested, started, completed])
      .when({ type: 'StartExhaust', requestId, now })
      .thenNothingHappens();
  });

  it('completes with the files made, and fails with "No data found" when none was', () => {
    const finish = {
      type: 'FinishExhaust' as const,
      requestId,
      skippedBatchIds: ['b2'],
      now: '2026-12-03T08:00:03.000Z',
      executionMs: 2000,
    };
    spec
      .given([requested, started])
      .when({ ...finish, files: [file] })
      .then([completed]);
    spec
      .given([requested, started])
      .when({ ...finish, files: [], skippedBatchIds: ['b1', 'b2'] })
      .then([
        {
          type: 'ExhaustFailed',
          data: { requestId, error: NO_DATA_FOUND, failedAt: '2026-12-03T08:00:03.000Z' },
        },
      ]);
    spec
      .given([requested])
      .when({ ...finish, files: [file] })
      .thenNothingHappens();
  });

  it('counts failed runs as the reference counts iterations, and keeps the last error', () => {
    const state = [requested, started, failed, started, failed].reduce(
      exhaustRequestDecider.evolve,
      exhaustRequestDecider.initialState(),
    );
    expect(state).toMatchObject({ status: 'FAILED', iteration: 2, error: 'boom' });
  });

  it('records a download of a made file only', () => {
    const download = {
      type: 'RecordExhaustDownload' as const,
      requestId,
      downloadedBy: 'mentor-1',
      now: '2026-12-03T10:00:00.000Z',
    };
    spec
      .given([requested, started, completed])
      .when({ ...download, batchId: 'b1' })
      .then([
        {
          type: 'ExhaustDownloaded',
          data: {
            requestId,
            batchId: 'b1',
            key: file.key,
            downloadedBy: 'mentor-1',
            downloadedAt: '2026-12-03T10:00:00.000Z',
          },
        },
      ]);
    spec
      .given([requested, started, completed])
      .when({ ...download, batchId: 'b2' })
      .thenThrows(NotFoundError, { code: 'FILE_NOT_FOUND' });
    spec
      .given([requested, started])
      .when({ ...download, batchId: 'b1' })
      .thenThrows(NotFoundError, { code: 'FILE_NOT_FOUND' });
    spec
      .given([])
      .when({ ...download, batchId: 'b1' })
      .thenThrows(NotFoundError, { code: 'JOB_NOT_FOUND' });
  });
});

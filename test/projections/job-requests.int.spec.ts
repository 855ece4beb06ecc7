import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { Projection } from '../../projections/engine/projection';
import { runProjection } from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { jobRequestsProjection } from '../../projections/job-requests/job-requests.projection';
import {
  downloadCounts,
  jobRequestCursor,
  JobRequestRow,
  listJobRequests,
  readJobRequest,
} from '../../projections/job-requests/job-requests.query';
import { SqlDatabase } from '../../src/database/sql-database';
import { handleCommand } from '../../src/event-sourcing/command-handler';
import { EventStore } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import {
  ExhaustRequestCommand,
  exhaustRequestDecider,
} from '../../src/exhausts/exhaust-request.decider';
import {
  EXHAUST_REQUEST_STREAM_PREFIX,
  ExhaustFile,
  ExhaustRequested,
  exhaustRequestStream,
} from '../../src/exhausts/exhaust-request.events';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const at = (minutes: number) =>
  new Date(Date.UTC(2026, 10, 3, 9, 0) + minutes * 60_000).toISOString();

const request = (
  requestId: string,
  overrides: Partial<ExhaustRequested['data']> = {},
): ExhaustRequested['data'] => ({
  requestId,
  tag: 'course-1:org-1',
  type: 'progress-exhaust',
  batchIds: ['batch-1'],
  requestedBy: 'mentor-1',
  organisationId: 'org-1',
  encrypted: false,
  requestedAt: at(0),
  ...overrides,
});

const file = (type: string, requestId: string, batchId: string, n: number): ExhaustFile => ({
  batchId,
  key: `${type}/${requestId}/${batchId}_progress_20261103.zip`,
  bytes: 1_000 + n,
  rows: 10 + n,
});

/** Waits until every appended event is readable, then runs the projection up to the head. */
const catchUp = async (
  projection: Projection,
  db: SqlDatabase,
  store: EventStore,
  batchSize: number,
) => {
  const head = await store.headPosition();
  for (;;) {
    await runProjection(
      projection,
      { db, store },
      { batchSize, signal: new AbortController().signal, untilCaughtUp: true },
    );
    const checkpoint = await readCheckpoint(db, projection.name);
    if (head === null || (checkpoint?.position && checkpoint.position >= head)) return;
    await sleep(20);
  }
};

const tables = async (db: SqlDatabase) => ({
  requests: (await db.query('SELECT * FROM job_request ORDER BY request_id')).rows,
  downloads: (await db.query('SELECT * FROM job_request_downloads ORDER BY request_id, revision'))
    .rows,
});

describe('job-requests projection', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;

  const run = (command: ExhaustRequestCommand) => {
    const requestId =
      command.type === 'RequestExhaust' ? command.request.requestId : command.requestId;
    return handleCommand(store, exhaustRequestStream(requestId), exhaustRequestDecider, command);
  };

  beforeAll(async () => {
    database = await openTestSqlDatabase('job_requests_projection');
    store = await SqlEventStore.open(database.db, { pollIntervalMs: 100 });

    // R1: made files for two batches, downloaded three times.
    await run({
      type: 'RequestExhaust',
      request: request('R1', { batchIds: ['batch-1', 'batch-2', 'batch-9'] }),
    });
    await run({ type: 'StartExhaust', requestId: 'R1', now: at(1) });
    await run({
      type: 'FinishExhaust',
      requestId: 'R1',
      files: [
        file('progress-exhaust', 'R1', 'batch-1', 1),
        file('progress-exhaust', 'R1', 'batch-2', 2),
      ],
      skippedBatchIds: ['batch-9'],
      now: at(3),
      executionMs: 120_500,
    });
    for (const [batchId, minute] of [
      ['batch-1', 10],
      ['batch-1', 70],
      ['batch-2', 80],
    ] as const)
      await run({
        type: 'RecordExhaustDownload',
        requestId: 'R1',
        batchId,
        downloadedBy: 'mentor-1',
        now: at(minute),
      });

    // R2: no data, then an error, then files: two failed runs, then success.
    const r2 = request('R2', {
      type: 'response-exhaust',
      tag: 'course-2:org-1',
      requestedAt: at(5),
    });
    await run({ type: 'RequestExhaust', request: r2 });
    await run({ type: 'StartExhaust', requestId: 'R2', now: at(6) });
    await run({
      type: 'FinishExhaust',
      requestId: 'R2',
      files: [],
      skippedBatchIds: ['batch-1'],
      now: at(7),
      executionMs: 5,
    });
    await run({ type: 'RequestExhaust', request: { ...r2, encrypted: true, requestedAt: at(20) } });
    await run({ type: 'StartExhaust', requestId: 'R2', now: at(21) });
    await run({ type: 'FailExhaust', requestId: 'R2', error: 'storage full', now: at(22) });
    await run({ type: 'RequestExhaust', request: { ...r2, requestedAt: at(30) } });
    await run({ type: 'StartExhaust', requestId: 'R2', now: at(31) });
    await run({
      type: 'FinishExhaust',
      requestId: 'R2',
      files: [file('response-exhaust', 'R2', 'batch-1', 3)],
      skippedBatchIds: [],
      now: at(32),
      executionMs: 900,
    });
    await run({
      type: 'RecordExhaustDownload',
      requestId: 'R2',
      batchId: 'batch-1',
      downloadedBy: 'admin-1',
      now: at(90),
    });

    // R3 waits, R4 runs, R5 failed once and waits again: another organisation.
    const org2 = { organisationId: 'org-2', tag: 'course-3:org-2', batchIds: ['batch-3'] };
    await run({
      type: 'RequestExhaust',
      request: request('R3', { ...org2, type: 'userinfo-exhaust', requestedAt: at(40) }),
    });
    await run({ type: 'RequestExhaust', request: request('R4', { ...org2, requestedAt: at(41) }) });
    await run({ type: 'StartExhaust', requestId: 'R4', now: at(42) });
    const r5 = request('R5', { ...org2, requestedAt: at(43) });
    await run({ type: 'RequestExhaust', request: r5 });
    await run({ type: 'FailExhaust', requestId: 'R5', error: 'worker lost', now: at(44) });
    await run({ type: 'RequestExhaust', request: { ...r5, requestedAt: at(45) } });

    // Many more, for paging: same submission times, so the request id breaks the ties.
    for (let n = 0; n < 12; n++)
      await run({
        type: 'RequestExhaust',
        request: request(`P${String(n).padStart(2, '0')}`, { requestedAt: at(50 + (n % 3)) }),
      });

    await catchUp(jobRequestsProjection, database.db, store, 3);
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('has the reference’s row for a request that made files and was downloaded', async () => {
    expect(await readJobRequest(database.db, 'R1')).toEqual<JobRequestRow>({
      tag: 'course-1:org-1',
      requestId: 'R1',
      jobId: 'progress-exhaust',
      status: 'SUCCESS',
      requestData: {
        batchIds: ['batch-1', 'batch-2', 'batch-9'],
        type: 'progress-exhaust',
        encrypted: false,
      },
      requestedBy: 'mentor-1',
      requestedChannel: 'org-1',
      dtJobSubmitted: at(0),
      downloadUrls: [
        'progress-exhaust/R1/batch-1_progress_20261103.zip',
        'progress-exhaust/R1/batch-2_progress_20261103.zip',
      ],
      dtFileCreated: at(3),
      dtJobCompleted: at(3),
      executionTime: 120_500,
      errMessage: null,
      iteration: 0,
      encryptionKey: null,
      processedBatches: [
        {
          batchId: 'batch-1',
          filePath: 'progress-exhaust/R1/batch-1_progress_20261103.zip',
          fileSize: 1_001,
          rows: 11,
        },
        {
          batchId: 'batch-2',
          filePath: 'progress-exhaust/R1/batch-2_progress_20261103.zip',
          fileSize: 1_002,
          rows: 12,
        },
      ],
      downloads: 3,
      organisationId: 'org-1',
      revision: 5n,
    });
    const { rows } = await database.db.query<{ encryption_key: unknown }>(
      'SELECT encryption_key FROM job_request',
    );
    expect(rows.every((row) => row.encryption_key === null)).toBe(true);
  });

  it('counts failed runs as iterations, and a resubmission submits anew', async () => {
    expect(await readJobRequest(database.db, 'R2')).toMatchObject({
      status: 'SUCCESS',
      iteration: 2,
      errMessage: null,
      dtJobSubmitted: at(30),
      dtJobCompleted: at(32),
      executionTime: 900,
      downloads: 1,
      // The last resubmission asked for no encryption again.
      requestData: { batchIds: ['batch-1'], type: 'response-exhaust', encrypted: false },
    });
    expect(await readJobRequest(database.db, 'R3')).toMatchObject({
      status: 'SUBMITTED',
      jobId: 'userinfo-exhaust',
      iteration: 0,
      downloadUrls: [],
      processedBatches: [],
      dtJobCompleted: null,
      executionTime: null,
      downloads: 0,
    });
    expect(await readJobRequest(database.db, 'R4')).toMatchObject({
      status: 'PROCESSING',
      iteration: 0,
    });
    expect(await readJobRequest(database.db, 'R5')).toMatchObject({
      status: 'SUBMITTED',
      iteration: 1,
      // The failure's message stays until the next run ends.
      errMessage: 'worker lost',
      dtJobSubmitted: at(45),
      dtJobCompleted: null,
    });
    expect(await readJobRequest(database.db, 'nope')).toBeNull();
  });

  it('keeps one row per download', async () => {
    const { rows } = await database.db.query<{
      request_id: string;
      batch_id: string;
      downloaded_by: string;
      organisation_id: string;
    }>(
      'SELECT request_id, batch_id, downloaded_by, organisation_id FROM job_request_downloads ORDER BY request_id, revision',
    );
    expect(rows).toEqual([
      {
        request_id: 'R1',
        batch_id: 'batch-1',
        downloaded_by: 'mentor-1',
        organisation_id: 'org-1',
      },
      {
        request_id: 'R1',
        batch_id: 'batch-1',
        downloaded_by: 'mentor-1',
        organisation_id: 'org-1',
      },
      {
        request_id: 'R1',
        batch_id: 'batch-2',
        downloaded_by: 'mentor-1',
        organisation_id: 'org-1',
      },
      { request_id: 'R2', batch_id: 'batch-1', downloaded_by: 'admin-1', organisation_id: 'org-1' },
    ]);
  });

  it('lists by organisation, tag, type and status, newest first, page by page', async () => {
    const all = await listJobRequests(database.db, { organisationId: null, limit: 100 });
    expect(all).toHaveLength(17);
    const order = all.map((row) => [row.dtJobSubmitted, row.requestId].join(' '));
    expect(order).toEqual([...order].sort().reverse());

    const pages: string[] = [];
    let after: ReturnType<typeof jobRequestCursor> | undefined;
    for (;;) {
      const page = await listJobRequests(database.db, { organisationId: null, after, limit: 4 });
      pages.push(...page.map((row) => row.requestId));
      if (page.length < 4) break;
      after = jobRequestCursor(page.at(-1)!);
    }
    expect(pages).toEqual(all.map((row) => row.requestId));

    const ids = async (filter: Parameters<typeof listJobRequests>[1]) =>
      (await listJobRequests(database.db, filter)).map((row) => row.requestId);
    expect(await ids({ organisationId: 'org-2', limit: 10 })).toEqual(['R5', 'R4', 'R3']);
    expect(await ids({ organisationId: 'org-2', type: 'progress-exhaust', limit: 10 })).toEqual([
      'R5',
      'R4',
    ]);
    expect(await ids({ organisationId: null, status: 'SUCCESS', limit: 10 })).toEqual(['R2', 'R1']);
    expect(await ids({ organisationId: 'org-1', tag: 'course-2:org-1', limit: 10 })).toEqual([
      'R2',
    ]);
    expect(await ids({ organisationId: 'org-2', status: 'SUCCESS', limit: 10 })).toEqual([]);
  });

  it('counts files and downloads per batch and per request, in a period too', async () => {
    expect(await downloadCounts(database.db, { organisationId: 'org-1' })).toEqual({
      byBatch: [
        { batchId: 'batch-1', organisationId: 'org-1', files: 2, downloads: 3 },
        { batchId: 'batch-2', organisationId: 'org-1', files: 1, downloads: 1 },
      ],
      byRequest: [
        {
          requestId: 'R1',
          type: 'progress-exhaust',
          organisationId: 'org-1',
          files: 2,
          downloads: 3,
        },
        {
          requestId: 'R2',
          type: 'response-exhaust',
          organisationId: 'org-1',
          files: 1,
          downloads: 1,
        },
      ],
    });
    expect(await downloadCounts(database.db, { organisationId: 'org-2' })).toEqual({
      byBatch: [],
      byRequest: [],
    });
    expect((await downloadCounts(database.db, { organisationId: null })).byRequest).toHaveLength(2);
    // From R2's file on: R1's files were made before, one of R1's downloads and R2's fall in it.
    expect(
      await downloadCounts(database.db, { organisationId: null, from: at(32), to: at(85) }),
    ).toEqual({
      byBatch: [
        { batchId: 'batch-1', organisationId: 'org-1', files: 1, downloads: 1 },
        { batchId: 'batch-2', organisationId: 'org-1', files: 0, downloads: 1 },
      ],
      byRequest: [
        {
          requestId: 'R1',
          type: 'progress-exhaust',
          organisationId: 'org-1',
          files: 0,
          downloads: 2,
        },
        {
          requestId: 'R2',
          type: 'response-exhaust',
          organisationId: 'org-1',
          files: 1,
          downloads: 0,
        },
      ],
    });
  });

  it('changes nothing when events are applied again', async () => {
    const before = await tables(database.db);
    const events = (await store.readAll({ maxCount: 10_000 })).filter((event) =>
      event.stream.startsWith(EXHAUST_REQUEST_STREAM_PREFIX),
    );
    expect(events).toHaveLength(34);
    await database.db.transaction(async (tx) => {
      for (const event of events) await jobRequestsProjection.handlers[event.type]!(event, tx);
    });
    expect(await tables(database.db)).toEqual(before);
  });

  it('rebuilds to the same rows as applied live', async () => {
    const live = await tables(database.db);
    const rebuilt = await rebuildProjection(
      jobRequestsProjection,
      { db: database.db, store },
      { batchSize: 1_000 },
    );
    expect(rebuilt.applied).toBe(34);
    expect(await tables(database.db)).toEqual(live);
  });
});

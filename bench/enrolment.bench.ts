import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { fmtInt, progress, renderTable, envInt } from './bench-support';
import { cpuTicksOf, Hub, percentile, rssOf } from './hub-process';
import { NO_ATTRIBUTES, recordLearnerProfiles } from './learner-profiles';
import { createScratchDatabase, redactUrl, ScratchDatabase, serverUrl } from './scratch-database';

/**
 * Enrolment benchmark: a hub process on a scratch PostgreSQL database, driven over HTTP from this
 * process (a separate process, as real clients are).
 * 1. bulk-enrol LEARNERS users into one batch as a job and time it to completion;
 * 2. post content progress at RATE updates/s (UPDATES_PER_REQUEST per request, each for a
 *    different learner) for SECONDS, open-loop, while sampling how far the `enrolments` read
 *    model lags behind the log: now minus the append time of the oldest event it has not applied.
 */

const LEARNERS = envInt('BENCH_LEARNERS', 100_000);
const RATE = envInt('BENCH_RATE', 5_000);
const UPDATES_PER_REQUEST = envInt('BENCH_UPDATES_PER_REQUEST', 100);
const SECONDS = envInt('BENCH_SECONDS', 30);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 5);
/** Hub processes on the one database; progress requests go round-robin across them. */
const INSTANCES = envInt('BENCH_HUB_INSTANCES', 1);
const TOKEN = 'bench-admin-token-0123456789abcdef-xyz';
const BATCH_ID = 'bench-batch';
const COURSE_ID = 'bench-course';
const CONTENTS_PER_UNIT = 6;
const UNITS = 4;

const learnerId = (n: number) => `learner-${String(n).padStart(6, '0')}`;

const contentIds = Array.from({ length: UNITS * CONTENTS_PER_UNIT }, (_, i) => `content-${i + 1}`);

const leafIds = [...contentIds, ...Array.from({ length: UNITS }, (_, unit) => `quiz-${unit + 1}`)];

const hierarchy = () =>
  Array.from({ length: UNITS }, (_, unit) => ({
    id: `unit-${unit + 1}`,
    name: `Unit ${unit + 1}`,
    kind: 'unit',
    children: [
      ...contentIds
        .slice(unit * CONTENTS_PER_UNIT, (unit + 1) * CONTENTS_PER_UNIT)
        .map((id) => ({ id, name: id, kind: 'content' })),
      { id: `quiz-${unit + 1}`, name: `Quiz ${unit + 1}`, kind: 'assessment', maxScore: 10 },
    ],
  }));

/** Seconds between now and the append of the oldest enrolment event the read model lacks. */
const projectionLagSeconds = async (db: Client): Promise<{ lag: number; behind: number }> => {
  const { rows } = await db.query<{ lag: number | null; behind: string }>(
    `SELECT extract(epoch FROM clock_timestamp() - min(e.recorded_at))::float8 AS lag,
            count(*) AS behind
       FROM hub_events e, hub_projection_checkpoints c
      WHERE c.projection = 'enrolments'
        AND (e.transaction_id, e.global_position) >
            -- Positions are zero-padded: through bigint, or xid8 would read them as octal.
            (coalesce(nullif(split_part(c.position, ':', 1), ''), '0')::bigint::text::xid8,
             coalesce(nullif(split_part(c.position, ':', 2), ''), '0')::bigint)
        AND e.stream_name LIKE 'enrolment-%'`,
  );
  return { lag: rows[0]?.lag ?? 0, behind: Number(rows[0]?.behind ?? 0) };
};

interface ProgressRun {
  requests: number;
  updates: number;
  failedUpdates: number;
  errors: number;
  seconds: number;
  latencies: number[];
  lagSamples: number[];
  maxBehind: number;
  /** Seconds from the last request sent to the last response received. */
  drainSeconds: number;
}

const driveProgress = async (
  hubs: readonly Hub[],
  db: Client,
  seconds: number,
  label: string,
): Promise<ProgressRun> => {
  const interval = (1000 * UPDATES_PER_REQUEST) / RATE;
  const total = Math.round((seconds * 1000) / interval);
  const run: ProgressRun = {
    requests: 0,
    updates: 0,
    failedUpdates: 0,
    errors: 0,
    seconds: 0,
    latencies: [],
    lagSamples: [],
    maxBehind: 0,
    drainSeconds: 0,
  };
  let lastSent = 0;
  let lastAnswered = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { lag, behind } = await projectionLagSeconds(db);
      run.lagSamples.push(lag);
      run.maxBehind = Math.max(run.maxBehind, behind);
      await sleep(100);
    }
  })();
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  let cursor = Math.floor(Math.random() * LEARNERS);
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const at = new Date().toISOString();
    const contents = Array.from({ length: UPDATES_PER_REQUEST }, () => {
      cursor = (cursor + 7_919) % LEARNERS;
      return {
        userId: learnerId(cursor),
        contentId: leafIds[Math.floor(Math.random() * leafIds.length)]!,
        status: Math.random() < 0.6 ? 1 : 2,
        lastAccessTime: at,
      };
    });
    const sent = performance.now();
    lastSent = sent;
    inFlight.push(
      hubs[i % hubs.length]!.call('POST', `/v1/batches/${BATCH_ID}/progress`, { contents }).then(
        (response) => {
          lastAnswered = performance.now();
          run.latencies.push(lastAnswered - sent);
          run.requests++;
          if (response.status !== 200) {
            run.errors++;
            if (run.errors <= 3)
              progress(`${label}: ${response.status} ${JSON.stringify(response.body)}`);
            return;
          }
          const failed = (response.body as { failed: number }).failed;
          run.failedUpdates += failed;
          run.updates += UPDATES_PER_REQUEST;
        },
        () => {
          run.errors++;
        },
      ),
    );
    if (i % Math.round(1000 / interval) === 0 && i > 0)
      progress(`${label}: ${fmtInt(i * UPDATES_PER_REQUEST)} updates sent`);
  }
  await Promise.all(inFlight);
  run.seconds = (performance.now() - started) / 1000;
  run.drainSeconds = Math.max(0, lastAnswered - lastSent) / 1000;
  // Let the read model finish, sampling all the while: its last lag counts too.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await projectionLagSeconds(db)).behind > 0) await sleep(50);
  sampling = false;
  await sampler;
  run.latencies.sort((a, b) => a - b);
  return run;
};

const main = async () => {
  const url = serverUrl();
  progress(`server ${redactUrl(url)}; ${LEARNERS} learners; ${RATE} updates/s for ${SECONDS} s`);
  let scratch: ScratchDatabase | null = null;
  let hub: Hub | null = null;
  const others: Hub[] = [];
  const cleanup = async () => {
    await Promise.all([hub, ...others].map((instance) => instance?.stop() ?? Promise.resolve()));
    await scratch?.drop();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    scratch = await createScratchDatabase(url);
    hub = await Hub.start(scratch.url, { adminToken: TOKEN });
    // Further instances start once the first has migrated the database.
    for (let n = 1; n < INSTANCES; n++)
      others.push(await Hub.start(scratch.url, { adminToken: TOKEN }));
    const hubs = [hub, ...others];
    const db = new Client({ connectionString: scratch.url, application_name: 'hub-bench-lag' });
    // Dropping the scratch database at the end ends this connection: expected, not a failure.
    db.on('error', () => undefined);
    await db.connect();
    const pg = await db.query<{ server_version: string }>('SHOW server_version');

    await hub.expect(
      'POST',
      '/v1/courses',
      {
        courseId: COURSE_ID,
        name: 'Benchmark course',
        organisationId: 'org-bench',
        trackable: { enabled: true },
        children: hierarchy(),
      },
      201,
    );
    const endDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await hub.expect(
      'POST',
      '/v1/batches',
      {
        batchId: BATCH_ID,
        courseId: COURSE_ID,
        name: 'Benchmark batch',
        enrollmentType: 'open',
        startDate: new Date().toISOString(),
        endDate,
        certificateCriteria: { minCompletionPercent: 100, minScorePercent: null },
      },
      201,
    );

    await recordLearnerProfiles(scratch.url, db, {
      count: LEARNERS,
      idOf: learnerId,
      organisationId: 'org-bench',
      attributesOf: () => ({ ...NO_ATTRIBUTES, state: 'Kerala' }),
    });
    const userIds = Array.from({ length: LEARNERS }, (_, n) => learnerId(n));
    const hubPid = hub.child.pid!;
    const ticks = cpuTicksOf(hubPid);
    const bulkStarted = performance.now();
    const job = await hub.expect(
      'POST',
      `/v1/batches/${BATCH_ID}/enrolments/bulk`,
      { userIds },
      202,
    );
    let status = job;
    let lastPercent = -1;
    while (status.status === 'queued' || status.status === 'running') {
      await sleep(100);
      status = await hub.expect(
        'GET',
        `/v1/batches/${BATCH_ID}/enrolments/bulk/${job.jobId}`,
        undefined,
        200,
      );
      if (status.percent >= lastPercent + 10) {
        lastPercent = status.percent;
        progress(`bulk enrolment: ${status.percent} % (${fmtInt(status.processed)} rows)`);
      }
    }
    const bulkSeconds = (performance.now() - bulkStarted) / 1000;
    const bulkCpu = (cpuTicksOf(hubPid) - ticks) / 100 / bulkSeconds;
    if (status.status !== 'completed' || status.enrolled !== LEARNERS)
      throw new Error(`bulk enrolment ended ${JSON.stringify(status)}`);
    for (;;) {
      const { behind } = await projectionLagSeconds(db);
      if (behind === 0) break;
      await sleep(50);
    }
    const bulkProjectedSeconds = (performance.now() - bulkStarted) / 1000;
    const participants = await hub.expect(
      'GET',
      `/v1/batches/${BATCH_ID}/participants?limit=1`,
      undefined,
      200,
    );
    progress(
      `bulk enrolment done in ${bulkSeconds.toFixed(1)} s; read model ${participants.counts.active}`,
    );

    progress(`progress warm-up (${WARMUP_SECONDS} s)`);
    await driveProgress(hubs, db, WARMUP_SECONDS, 'warm-up');
    const rssBefore = rssOf(hubPid);
    const progressTicks = cpuTicksOf(hubPid);
    const loadStarted = performance.now();
    const run = await driveProgress(hubs, db, SECONDS, 'progress');
    const progressCpu =
      (cpuTicksOf(hubPid) - progressTicks) / 100 / ((performance.now() - loadStarted) / 1000);
    const rssAfter = rssOf(hubPid);
    const lags = [...run.lagSamples].sort((a, b) => a - b);
    const maxLag = lags.at(-1) ?? 0;
    const achieved = run.updates / run.seconds;

    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const lines = [
      `Enrolment benchmark, ${new Date().toISOString()}`,
      `cores: ${os.cpus().length} (${cpu}), memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; postgres ${pg.rows[0]?.server_version}`,
      INSTANCES === 1
        ? 'hub: one process (PostgreSQL server adapter), driven over HTTP from the benchmark process'
        : `hub: ${INSTANCES} processes on one database (PostgreSQL server adapter), progress requests round-robin; CPU and rss below are the first's`,
      `course: ${UNITS} units x (${CONTENTS_PER_UNIT} contents + 1 assessment); batch of ${fmtInt(LEARNERS)} learners`,
      '',
      renderTable(
        ['measure', 'value', 'target', 'met?'],
        [
          [
            `bulk enrolment of ${fmtInt(LEARNERS)} (POST to job completed)`,
            `${bulkSeconds.toFixed(1)} s (${fmtInt(LEARNERS / bulkSeconds)}/s)`,
            '< 60 s',
            bulkSeconds < 60 ? 'yes' : 'no',
          ],
          [
            '  ... until the enrolments read model has them all',
            `${bulkProjectedSeconds.toFixed(1)} s`,
            '-',
            '-',
          ],
          [
            `progress offered open-loop (${UPDATES_PER_REQUEST}/request, ${SECONDS} s)`,
            `${fmtInt(RATE)}/s = ${fmtInt(RATE * SECONDS)} updates`,
            `${fmtInt(RATE)}/s`,
            '-',
          ],
          [
            '  acknowledged: requests, errors, refused updates',
            `${fmtInt(run.requests)}, ${run.errors}, ${run.failedUpdates}`,
            'all, 0, 0',
            run.errors === 0 && run.failedUpdates === 0 && run.updates === RATE * SECONDS
              ? 'yes'
              : 'no',
          ],
          [
            '  kept pace: last response after the last request',
            `${run.drainSeconds.toFixed(2)} s`,
            '<= 2 s (no backlog)',
            run.drainSeconds <= 2 ? 'yes' : 'no',
          ],
          ['  throughput, send window plus drain', `${fmtInt(achieved)}/s`, '-', '-'],
          [
            '  request latency p50 / p95 / p99 / max',
            `${percentile(run.latencies, 0.5).toFixed(0)} / ${percentile(run.latencies, 0.95).toFixed(0)} / ${percentile(run.latencies, 0.99).toFixed(0)} / ${(run.latencies.at(-1) ?? 0).toFixed(0)} ms`,
            '-',
            '-',
          ],
          [
            '  enrolments read-model lag p50 / p99 / max',
            `${(percentile(lags, 0.5) * 1000).toFixed(0)} / ${(percentile(lags, 0.99) * 1000).toFixed(0)} / ${(maxLag * 1000).toFixed(0)} ms`,
            '<= 2,000 ms',
            maxLag <= 2 ? 'yes' : 'no',
          ],
          ['  most events the read model was behind', fmtInt(run.maxBehind), '-', '-'],
        ],
      ),
      '',
      `hub CPU: bulk enrolment ${bulkCpu.toFixed(2)} cores, progress load ${progressCpu.toFixed(2)} cores (of ${os.cpus().length})`,
      `hub rss: ${(rssBefore / 2 ** 20).toFixed(0)} MiB before the progress load, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`,
      `lag sampled every 100 ms: now minus the append time of the oldest enrolment event not yet in the read model`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await db.end();
  } finally {
    await cleanup();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { envInt, fmtInt, progress, renderTable, sampleCpu, measuredSince } from './bench-support';
import { CallRecord, FakeOpenEdxProcess } from './fake-openedx-process';
import { HttpClient } from './http-client';
import { cpuTicksOf, Hub, percentile, rssOf } from './hub-process';
import { NO_ATTRIBUTES, recordLearnerProfiles } from './learner-profiles';
import { ms, sorted, spread, yesNo } from './open-loop';
import { createScratchDatabase, redactUrl, ScratchDatabase, serverUrl } from './scratch-database';

/**
 * LMS mirroring benchmark: a hub process on a scratch PostgreSQL database, with LMS_BACKENDS
 * pointing at a fake Open edX in a child process (bench/fake-openedx-process.ts) that answers a seeded BENCH_FAIL_RATE of its calls
 * with 503. The mirror runs with its default concurrency and retry settings.
 * Set-up, not measured: LEARNERS learner profiles (their external id is the LMS username, sealed
 * as the API would), a course whose lmsResourceLink names the fake's course run, and a batch.
 * Measured: from the bulk enrolment request to the moment the fake holds every learner's
 * enrolment and lms-sync shows nothing pending, with the calls the fake got per learner. The
 * hub's API latency: GET /v1/batches/{id} open-loop at GET_RATE/s for SECONDS before the
 * enrolment (baseline), and again from the bulk request until the mirror is done.
 */

const LEARNERS = envInt('BENCH_LEARNERS', 10_000);
const GET_RATE = envInt('BENCH_GET_RATE', 50);
const SECONDS = envInt('BENCH_SECONDS', 10);
const SEED = envInt('BENCH_SEED', 1);
const TIMEOUT_SECONDS = envInt('BENCH_TIMEOUT_SECONDS', 600);

/** A fraction from the environment, in [0, 1); the fallback when unset. */
const envFraction = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0 || value >= 1)
    throw new Error(`${name} must be a number from 0 to below 1`);
  return value;
};
const FAIL_RATE = envFraction('BENCH_FAIL_RATE', 0.1);
/**
 * BENCH_MIRROR_INSTANCE=1: a second hub on the same database does the mirroring, and the one
 * the API calls go to runs with LMS_CONCURRENCY=0 (a deployment that keeps the API's event loop
 * free of mirror work).
 */
const MIRROR_INSTANCE = process.env.BENCH_MIRROR_INSTANCE === '1';
/** BENCH_FAKE_NICE: the fake LMS's CPU priority (0–19), standing for a machine of its own. */
const FAKE_NICE = envInt('BENCH_FAKE_NICE', 0, 0);

const TOKEN = 'bench-admin-token-0123456789abcdef-lms';
const EDX_KEY = 'bench-edx-api-key-0123456789';
const RUN = 'course-v1:bench+LMS+2026';
const COURSE = 'bench-lms-course';
const BATCH = 'bench-lms-batch';
const ORG = 'org-bench';
const ENROLLMENT_PATH = '/api/enrollment/v1/enrollment';

/** Targets (the issue's). */
const TOTAL_SECONDS = 60;

const learnerId = (n: number) => `learner-${String(n).padStart(6, '0')}`;
const usernameOf = (n: number) => `ext-${learnerId(n)}`;

const hierarchy = () => [
  {
    id: 'unit-1',
    name: 'Unit 1',
    kind: 'unit',
    children: [{ id: 'u1-c1', name: 'u1-c1', kind: 'content' }],
  },
];

/** The LMS username a call to the fake was about (GET in the path, POST in the body). */
const userOfCall = (call: CallRecord): string | null => {
  if (call.method === 'GET' && call.path.startsWith(`${ENROLLMENT_PATH}/`)) {
    const rest = call.path.slice(ENROLLMENT_PATH.length + 1);
    const comma = rest.indexOf(',');
    return comma < 0 ? null : decodeURIComponent(rest.slice(0, comma));
  }
  if (call.method === 'POST') {
    try {
      return (JSON.parse(call.body) as { user?: string }).user ?? null;
    } catch {
      return null;
    }
  }
  return null;
};

/** Calls `fire` `perSecond` times a second on a fixed timetable until `stopped()` says so. */
const openLoopUntil = async (
  perSecond: number,
  stopped: () => boolean,
  fire: () => Promise<void>,
): Promise<{ sent: number; latenessP99: number }> => {
  const interval = 1000 / perSecond;
  const pending: Promise<void>[] = [];
  const lateness: number[] = [];
  const started = performance.now();
  for (let i = 0; !stopped(); i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lateness.push(Math.max(0, performance.now() - due));
    pending.push(fire());
  }
  await Promise.all(pending);
  return { sent: pending.length, latenessP99: percentile(sorted(lateness), 0.99) };
};

interface Summary {
  learners: number;
  pending: number;
  mirrored: number;
  failed: number;
}

/** One sample of the read model and the fake, for where the time goes. */
interface Sample {
  at: number;
  enrolledInFake: number;
  targets: number;
  handled: number;
  leased: number;
  backingOff: number;
  retried: number;
  outcomesBehind: number;
  enrolmentsBehind: number;
  calls: number;
  rss: number;
}

const sampleTargets = async (db: Client) => {
  const { rows } = await db.query<{
    targets: string;
    handled: string;
    leased: string;
    backing_off: string;
    retried: string;
  }>(
    `SELECT count(*) AS targets,
            count(*) FILTER (WHERE handled_version >= desired_version) AS handled,
            count(*) FILTER (WHERE lease_until > now()) AS leased,
            count(*) FILTER (WHERE (handled_version IS NULL OR handled_version < desired_version)
                               AND next_attempt_at > now()) AS backing_off,
            count(*) FILTER (WHERE attempts > 0) AS retried
       FROM lms_mirror_targets`,
  );
  const row = rows[0];
  return {
    targets: Number(row?.targets ?? 0),
    handled: Number(row?.handled ?? 0),
    leased: Number(row?.leased ?? 0),
    backingOff: Number(row?.backing_off ?? 0),
    retried: Number(row?.retried ?? 0),
  };
};

/** Outcome and enrolment events the lms-mirror projection has not applied yet. */
const projectionBehind = async (db: Client): Promise<{ outcomes: number; enrolments: number }> => {
  const { rows } = await db.query<{ outcomes: string; enrolments: string }>(
    `SELECT count(*) FILTER (WHERE e.stream_name LIKE 'lms-%') AS outcomes,
            count(*) FILTER (WHERE e.stream_name LIKE 'enrolment-%') AS enrolments
       FROM hub_events e, hub_projection_checkpoints c
      WHERE c.projection = 'lms-mirror'
        AND (e.transaction_id, e.global_position) >
            (coalesce(nullif(split_part(c.position, ':', 1), ''), '0')::bigint::text::xid8,
             coalesce(nullif(split_part(c.position, ':', 2), ''), '0')::bigint)`,
  );
  return {
    outcomes: Number(rows[0]?.outcomes ?? 0),
    enrolments: Number(rows[0]?.enrolments ?? 0),
  };
};

const main = async () => {
  const url = serverUrl();
  progress(
    `server ${redactUrl(url)}; ${fmtInt(LEARNERS)} learners, fail rate ${FAIL_RATE}, seed ${SEED}; load average ${os.loadavg()[0]?.toFixed(2)}`,
  );
  let scratch: ScratchDatabase | null = null;
  let hub: Hub | null = null;
  let mirrorHub: Hub | null = null;
  let fake: FakeOpenEdxProcess | null = null;
  let ok = false;
  try {
    fake = await FakeOpenEdxProcess.start(
      { apiKey: EDX_KEY, courses: { [RUN]: ['audit', 'honor'] }, failRate: FAIL_RATE, seed: SEED },
      FAKE_NICE,
    );
    const edx = fake;
    const resourceLink = `${edx.baseUrl}/courses/${RUN}/course`;
    scratch = await createScratchDatabase(url);
    const lmsBackends = JSON.stringify([
      {
        BACKEND: 'openedx',
        BASE_URL: edx.baseUrl,
        SELECTOR_REGEX: `^${edx.baseUrl}/courses/`,
        COURSE_REGEX: '^.*/courses/(?P<course_id>.*)/course/?$',
        API_TOKEN: EDX_KEY,
      },
    ]);
    hub = await Hub.start(scratch.url, {
      adminToken: TOKEN,
      env: {
        LMS_BACKENDS: lmsBackends,
        ...(MIRROR_INSTANCE ? { LMS_CONCURRENCY: '0' } : {}),
      },
    });
    if (MIRROR_INSTANCE)
      mirrorHub = await Hub.start(scratch.url, {
        adminToken: TOKEN,
        env: { LMS_BACKENDS: lmsBackends },
      });
    const running = hub;
    const db = new Client({ connectionString: scratch.url });
    db.on('error', () => undefined);
    await db.connect();
    const pg = await db.query<{ server_version: string }>('SHOW server_version');

    const setupStarted = performance.now();
    await running.expect(
      'POST',
      '/v1/courses',
      {
        courseId: COURSE,
        name: 'LMS bench course',
        organisationId: ORG,
        trackable: { enabled: true },
        children: hierarchy(),
        lmsResourceLink: resourceLink,
      },
      201,
    );
    await running.expect(
      'POST',
      '/v1/batches',
      {
        batchId: BATCH,
        courseId: COURSE,
        name: 'LMS bench batch',
        enrollmentType: 'open',
        startDate: new Date().toISOString(),
        endDate: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
      },
      201,
    );
    await recordLearnerProfiles(scratch.url, db, {
      count: LEARNERS,
      idOf: learnerId,
      organisationId: ORG,
      attributesOf: () => ({ ...NO_ATTRIBUTES, userType: 'student' }),
      personalOf: (n) => ({
        name: `Learner ${n}`,
        email: `${learnerId(n)}@example.org`,
        phone: null,
        externalId: usernameOf(n),
      }),
    });
    await db.query('ANALYZE');
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    progress(`set-up done in ${setupSeconds.toFixed(0)} s`);

    const client = new HttpClient(running.base, 32);
    const read = async (into: number[], failures: { count: number }, sentAt?: number[]) => {
      const sent = performance.now();
      try {
        const answer = await client.send('GET', `/v1/batches/${BATCH}`, TOKEN);
        if (answer.status !== 200) failures.count += 1;
      } catch {
        failures.count += 1;
      }
      into.push(performance.now() - sent);
      sentAt?.push(sent);
    };

    progress(`baseline: GET /v1/batches/{id} at ${GET_RATE}/s for ${SECONDS} s`);
    const baseline: number[] = [];
    const baselineFailures = { count: 0 };
    const baselineStop = performance.now() + SECONDS * 1000;
    const baselineLoop = await openLoopUntil(
      GET_RATE,
      () => performance.now() >= baselineStop,
      () => read(baseline, baselineFailures),
    );
    const rssBefore = rssOf(running.pid);

    // Measured from here.
    const userIds = Array.from({ length: LEARNERS }, (_, n) => learnerId(n));
    const during: number[] = [];
    const duringSentAt: number[] = [];
    const duringFailures = { count: 0 };
    /** When the read model first held every learner's target (the bulk's enrolments applied). */
    let targetsDoneAt: number | null = null;
    let done = false;
    let peakRss = rssBefore;
    const samples: Sample[] = [];
    const cpu = sampleCpu();
    const hubTicks = cpuTicksOf(running.pid);
    const started = performance.now();
    const startedWall = Date.now();
    const deadline = started + TIMEOUT_SECONDS * 1000;
    const reads = openLoopUntil(
      GET_RATE,
      () => done,
      () => read(during, duringFailures, duringSentAt),
    );
    const bulk: { jobId: string } = await running.expect(
      'POST',
      `/v1/batches/${BATCH}/enrolments/bulk`,
      { userIds },
      202,
    );
    progress(`bulk enrolment job ${bulk.jobId} accepted`);

    let job: {
      status: string;
      enrolled: number;
      createdAt: string;
      finishedAt?: string | null;
    } | null = null;
    let jobSeenDoneAt: number | null = null;
    const enrolledInFake = () => edx.activeCount(RUN);
    let fakeDoneAt: number | null = null;
    let summary: Summary | null = null;
    let lastReport = 0;
    while (!done) {
      if (performance.now() > deadline) break;
      peakRss = Math.max(peakRss, rssOf(running.pid));
      if (jobSeenDoneAt === null) {
        job = await running.expect(
          'GET',
          `/v1/batches/${BATCH}/enrolments/bulk/${bulk.jobId}`,
          undefined,
          200,
        );
        if (job?.status === 'completed') {
          jobSeenDoneAt = performance.now();
          progress(`bulk enrolment job completed: ${fmtInt(job.enrolled)} enrolled`);
        } else if (job?.status !== 'queued' && job?.status !== 'running')
          throw new Error(`bulk enrolment ended ${JSON.stringify(job)}`);
      }
      const inFake = await enrolledInFake();
      if (fakeDoneAt === null && inFake === LEARNERS) fakeDoneAt = performance.now();
      if (performance.now() - lastReport >= 1_000) {
        lastReport = performance.now();
        const targets = await sampleTargets(db);
        const behind = await projectionBehind(db);
        if (targetsDoneAt === null && targets.targets >= LEARNERS)
          targetsDoneAt = performance.now();
        samples.push({
          at: (performance.now() - started) / 1000,
          enrolledInFake: inFake,
          ...targets,
          outcomesBehind: behind.outcomes,
          enrolmentsBehind: behind.enrolments,
          calls: await edx.callCount(),
          rss: rssOf(running.pid),
        });
        const last = samples.at(-1)!;
        progress(
          `${last.at.toFixed(0)} s: in the fake ${fmtInt(inFake)}; targets ${fmtInt(last.targets)}, handled ${fmtInt(last.handled)}, leased ${last.leased}, backing off ${fmtInt(last.backingOff)}, retried ${fmtInt(last.retried)}; not applied: enrolments ${fmtInt(last.enrolmentsBehind)}, outcomes ${fmtInt(last.outcomesBehind)}; calls ${fmtInt(last.calls)}`,
        );
      }
      if (fakeDoneAt !== null && jobSeenDoneAt !== null) {
        const sync = await running.expect(
          'GET',
          `/v1/batches/${BATCH}/lms-sync?limit=1`,
          undefined,
          200,
        );
        summary = (sync as { summary: Summary }).summary;
        if (summary.pending === 0 && summary.learners === LEARNERS) {
          done = true;
          break;
        }
      }
      await sleep(100);
    }
    const doneAt = performance.now();
    done = true;
    const totalSeconds = (doneAt - started) / 1000;
    const machine = measuredSince(cpu, 0);
    const hubCores = (cpuTicksOf(running.pid) - hubTicks) / 100 / totalSeconds;
    const duringLoop = await reads;
    peakRss = Math.max(peakRss, rssOf(running.pid));
    client.close();
    if (!summary || summary.pending !== 0) {
      summary = (
        (await running.expect('GET', `/v1/batches/${BATCH}/lms-sync?limit=1`, undefined, 200)) as {
          summary: Summary;
        }
      ).summary;
    }

    const jobSeconds =
      job?.finishedAt && job.createdAt
        ? (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000
        : Number.NaN;
    const jobEndedAt = job?.finishedAt ? Date.parse(job.finishedAt) : Number.NaN;
    const afterJobSeconds = (startedWall + totalSeconds * 1000 - jobEndedAt) / 1000;
    const fakeSeconds = fakeDoneAt === null ? Number.NaN : (fakeDoneAt - started) / 1000;

    // The calls the fake got, per learner.
    const usernames = Array.from({ length: LEARNERS }, (_, n) => usernameOf(n));
    const report = await edx.report(usernames, RUN);
    const perUser = new Map<string, { calls: number; posts: number; failed: number }>();
    /** When each learner's enrolment was made (the handled POST), in s after the bulk request. */
    const enrolledAt: number[] = [];
    let answered503 = 0;
    let gets = 0;
    let posts = 0;
    for (const call of report.calls) {
      if (call.status === 503) answered503 += 1;
      if (call.method === 'GET') gets += 1;
      if (call.method === 'POST') posts += 1;
      const user = userOfCall(call);
      if (user === null) continue;
      const entry = perUser.get(user) ?? { calls: 0, posts: 0, failed: 0 };
      entry.calls += 1;
      if (call.method === 'POST') entry.posts += 1;
      if (call.status === 503) entry.failed += 1;
      if (call.method === 'POST' && call.status === 200)
        enrolledAt.push((call.receivedAt - startedWall) / 1000);
      perUser.set(user, entry);
    }
    let mirroredInFake = 0;
    let handledPostsOne = 0;
    let handledPostsNone = 0;
    const handledPostsMany = report.postedMoreThanOnce;
    const callsPerLearner: number[] = [];
    for (let n = 0; n < LEARNERS; n++) {
      const user = usernames[n]!;
      if (report.active[n]) mirroredInFake += 1;
      const handled = report.stateChangingCalls[n]!;
      if (handled === 1) handledPostsOne += 1;
      if (handled === 0) handledPostsNone += 1;
      callsPerLearner.push(perUser.get(user)?.calls ?? 0);
    }
    const callSpread = sorted(callsPerLearner);
    const totalCalls = report.calls.length;
    const enrolledTimes = sorted(enrolledAt);
    const failedAttempts = sorted([...perUser.values()].map((entry) => entry.failed));
    const slowest = [...perUser].sort(([, a], [, b]) => b.failed - a.failed)[0];
    const attemptsHistogram = new Map<number, number>();
    for (const entry of perUser.values())
      attemptsHistogram.set(entry.posts, (attemptsHistogram.get(entry.posts) ?? 0) + 1);
    const allMirrored =
      mirroredInFake === LEARNERS && summary.mirrored === LEARNERS && summary.failed === 0;
    const noneTwice = handledPostsMany === 0 && handledPostsOne === LEARNERS;

    const base = sorted(baseline);
    const load = sorted([...during]);
    const split = targetsDoneAt ?? doneAt;
    const whileProjecting = sorted(during.filter((_, i) => (duringSentAt[i] ?? 0) < split));
    const whileMirroring = sorted(during.filter((_, i) => (duringSentAt[i] ?? 0) >= split));
    const projectedSeconds = (split - started) / 1000;
    const rows = [
      [
        `bulk request to every learner in the fake and lms-sync pending 0 (${fmtInt(LEARNERS)} learners)`,
        `${totalSeconds.toFixed(1)} s`,
        `<= ${TOTAL_SECONDS} s`,
        yesNo(totalSeconds <= TOTAL_SECONDS),
      ],
      ['  bulk enrolment job (createdAt to finishedAt)', `${jobSeconds.toFixed(1)} s`, '-', '-'],
      ['  mirror after the job ended', `${afterJobSeconds.toFixed(1)} s`, '-', '-'],
      ['  bulk request to the last learner in the fake', `${fakeSeconds.toFixed(1)} s`, '-', '-'],
      [
        '  mirror rate (learners / total)',
        `${fmtInt(LEARNERS / totalSeconds)}/s`,
        `>= ${fmtInt(LEARNERS / TOTAL_SECONDS)}/s`,
        yesNo(LEARNERS / totalSeconds >= LEARNERS / TOTAL_SECONDS),
      ],
      [
        'mirrored: in the fake / lms-sync mirrored / failed / pending',
        `${fmtInt(mirroredInFake)} / ${fmtInt(summary.mirrored)} / ${summary.failed} / ${summary.pending}`,
        `${fmtInt(LEARNERS)} / ${fmtInt(LEARNERS)} / 0 / 0`,
        yesNo(allMirrored),
      ],
      [
        'learners with exactly one handled POST / none / more than one',
        `${fmtInt(handledPostsOne)} / ${handledPostsNone} / ${handledPostsMany}`,
        `${fmtInt(LEARNERS)} / 0 / 0`,
        yesNo(noneTwice),
      ],
      [
        'calls to the fake: total (GET / POST), answered 503',
        `${fmtInt(totalCalls)} (${fmtInt(gets)} / ${fmtInt(posts)}), ${fmtInt(answered503)} (${((answered503 / Math.max(1, totalCalls)) * 100).toFixed(1)} %)`,
        '-',
        '-',
      ],
      [
        'calls per learner: mean / p50 / p99 / max',
        `${(totalCalls / LEARNERS).toFixed(2)} / ${percentile(callSpread, 0.5)} / ${percentile(callSpread, 0.99)} / ${callSpread.at(-1) ?? 0}`,
        '-',
        '-',
      ],
      [
        'POSTs sent per learner (503s included): learners with 1 / 2 / 3+',
        `${fmtInt(attemptsHistogram.get(1) ?? 0)} / ${fmtInt(attemptsHistogram.get(2) ?? 0)} / ${fmtInt(
          [...attemptsHistogram].filter(([k]) => k >= 3).reduce((a, [, v]) => a + v, 0),
        )}`,
        '-',
        '-',
      ],
      [
        'learner enrolled in the fake after the bulk request: 50 % / 90 % / 99 % / 99.9 % / last',
        [0.5, 0.9, 0.99, 0.999]
          .map((p) => percentile(enrolledTimes, p).toFixed(1))
          .concat((enrolledTimes.at(-1) ?? Number.NaN).toFixed(1))
          .join(' / ') + ' s',
        '-',
        '-',
      ],
      [
        'failed attempts (503s) per learner: learners with 0 / 1 / 2 / 3+; most',
        `${[0, 1, 2].map((k) => fmtInt(failedAttempts.filter((f) => f === k).length)).join(' / ')} / ${fmtInt(failedAttempts.filter((f) => f >= 3).length)}; ${slowest?.[1].failed ?? 0} (${slowest?.[0] ?? '-'})`,
        '-',
        '-',
      ],
      [
        `GET /v1/batches/{id} at ${GET_RATE}/s, baseline (${SECONDS} s): p50 / p95 / p99 / max`,
        spread(base),
        '-',
        '-',
      ],
      [
        `  the same while enrolling and mirroring (${fmtInt(load.length)} GETs): p50 / p95 / p99 / max`,
        spread(load),
        'unaffected',
        '-',
      ],
      [
        `    until the read model held every target (first ${projectedSeconds.toFixed(0)} s, ${fmtInt(whileProjecting.length)} GETs)`,
        spread(whileProjecting),
        '-',
        '-',
      ],
      [
        `    after that, mirroring only (${fmtInt(whileMirroring.length)} GETs)`,
        spread(whileMirroring),
        '-',
        '-',
      ],
      [
        '  GETs failed baseline / during; send lateness p99 baseline / during',
        `${baselineFailures.count} / ${duringFailures.count}; ${ms(baselineLoop.latenessP99)} / ${ms(duringLoop.latenessP99)} ms`,
        '-',
        '-',
      ],
      [
        'hub RSS: before / peak',
        `${fmtInt(rssBefore / 2 ** 20)} / ${fmtInt(peakRss / 2 ** 20)} MiB`,
        '-',
        '-',
      ],
      [
        'CPU while measured: hub / whole machine (cores)',
        `${hubCores.toFixed(2)} / ${machine.machineCores?.toFixed(2) ?? '-'}`,
        '-',
        '-',
      ],
    ];
    const timeline = samples
      .filter((_, i) => i % 5 === 0 || i === samples.length - 1)
      .map(
        (s) =>
          `  ${s.at.toFixed(0).padStart(4)} s  fake ${fmtInt(s.enrolledInFake).padStart(6)}  targets ${fmtInt(s.targets).padStart(6)}  handled ${fmtInt(s.handled).padStart(6)}  leased ${String(s.leased).padStart(3)}  backing off ${fmtInt(s.backingOff).padStart(5)}  retried ${fmtInt(s.retried).padStart(5)}  unapplied enrolments ${fmtInt(s.enrolmentsBehind).padStart(6)} outcomes ${fmtInt(s.outcomesBehind).padStart(5)}  calls ${fmtInt(s.calls).padStart(6)}`,
      );
    process.stdout.write(
      [
        `LMS mirroring benchmark, ${new Date().toISOString()}`,
        `cores: ${os.cpus().length}, memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${os.loadavg()[0]?.toFixed(2)}; node ${process.version}; postgres ${pg.rows[0]?.server_version}; set-up ${setupSeconds.toFixed(0)} s`,
        `fake Open edX in a child process${FAKE_NICE ? ` at nice ${FAKE_NICE}` : ''}: fail rate ${FAIL_RATE} (seed ${SEED}); mirror at its defaults${MIRROR_INSTANCE ? ', in a second hub (the API hub has LMS_CONCURRENCY=0)' : ''}`,
        '',
        renderTable(['measure', 'value', 'target', 'met?'], rows),
        '',
        'timeline (every 5 s; "targets" are lms_mirror_targets rows, "handled" have an outcome for their desired state):',
        ...timeline,
        '',
      ].join('\n'),
    );
    await db.end();
    ok = allMirrored && noneTwice;
    if (!ok)
      process.stderr.write(
        `FAILED: ${allMirrored ? '' : 'not every learner mirrored; '}${noneTwice ? '' : 'some learner did not get exactly one POST'}\n`,
      );
  } finally {
    await mirrorHub?.stop();
    await hub?.stop();
    await fake?.close();
    await scratch?.drop();
  }
  if (!ok) process.exitCode = 1;
};

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

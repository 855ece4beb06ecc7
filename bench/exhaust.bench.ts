import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { Client } from 'pg';
import { SMTPServer } from 'smtp-server';
import {
  envInt,
  fmtInt,
  fmtMiB,
  measuredSince,
  progress,
  renderTable,
  sampleCpu,
} from './bench-support';
import { cpuTicksOf, Hub, rssOf } from './hub-process';
import { appendPerLearner, inParallel, recordLearnerProfiles } from './learner-profiles';
import { createScratchDatabase, redactUrl, ScratchDatabase, serverUrl } from './scratch-database';

/**
 * Report (exhaust) benchmark: a hub process on a scratch PostgreSQL database, driven over HTTP
 * from this process, as the enrolment benchmark does.
 * Set-up, not measured: a course of UNITS units (the first ASSESSED_UNITS with an assessment), one
 * batch of LEARNERS learners (profiles straight to the store, then a bulk enrolment), completed
 * contents for PROGRESS_PERCENT % of them and assessment attempts for ATTEMPT_LEARNERS.
 * Measured: each report type, from POST /v1/jobs to the job's completion as GET /v1/jobs/{id}
 * shows it (polled every 100 ms), with the hub's resident memory sampled every 100 ms meanwhile.
 */

const LEARNERS = envInt('BENCH_LEARNERS', 100_000);
/** Share of learners with completed contents, in percent. */
const PROGRESS_PERCENT = envInt('BENCH_PROGRESS_PERCENT', 30, 0);
/**
 * Learners with assessment attempts. One attempt is one request (the API takes no batches of
 * them), so this is kept to a few thousand rather than a share of LEARNERS.
 */
const ATTEMPT_LEARNERS = Math.min(LEARNERS, envInt('BENCH_ATTEMPT_LEARNERS', 5_000, 0));
/**
 * 1: stop the set-up's hub and measure the reports on a fresh one (same database and folder),
 * so the memory figures are the report's alone rather than what set-up left on the heap.
 */
const FRESH_HUB = envInt('BENCH_FRESH_HUB', 0, 0) === 1;
/**
 * 1: keep the scratch database (its name is printed); BENCH_REUSE_DATABASE=<name>: measure on a
 * database a kept run set up, skipping the set-up. For measuring the reports again and again.
 */
const KEEP_DATABASE = envInt('BENCH_KEEP_DATABASE', 0, 0) === 1;
const REUSE_DATABASE = process.env.BENCH_REUSE_DATABASE ?? '';
/**
 * Seconds the hub for the reports sits idle before the first is asked for, once its read models
 * have caught up (default 15): a hub that has been calm for 10 s trims its caches and compacts
 * the heap the set-up's load left behind (MemoryRoom), as one between bulk loads would have.
 * 0 asks for the reports on the heels of the load.
 */
const IDLE_SECONDS = envInt('BENCH_IDLE_SECONDS', 15, 0);
/** Requests in flight while setting up. */
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 8);
const UPDATES_PER_REQUEST = 100;
const POLL_MS = 100;
const TOKEN = 'bench-admin-token-0123456789abcdef-xyz';
const BATCH_ID = 'bench-batch';
const COURSE_ID = 'bench-course';
const ORGANISATION_ID = 'org-bench';
const ENCRYPTION_KEY = 'bench-key-123';
const UNITS = 10;
const CONTENTS_PER_UNIT = 3;
const ASSESSED_UNITS = 5;
const QUIZ_MAX_SCORE = 10;

/** Targets, in seconds and bytes. */
const PROGRESS_EXHAUST_TARGET_S = 10;
const COURSE_REPORT_TARGET_S = 15;
const OTHER_REPORT_TARGET_S = 15;
/** The issue's 300 MB, in bytes: 286 MiB. */
const PEAK_RSS_TARGET = 300_000_000;

const learnerId = (n: number) => `learner-${String(n).padStart(6, '0')}`;

/**
 * Consent and erasure mix: 7 in 10 learners consent to the organisation seeing their data in
 * this course, one of those 7 revokes it afterwards, and 1 in 100 has their personal data erased.
 */
const consents = (n: number) => n % 10 < 7;
const revokes = (n: number) => n % 10 === 6;
const erased = (n: number) => n % 100 === 3;
const activeConsents = () =>
  Array.from({ length: LEARNERS }, (_, n) => n).filter((n) => consents(n) && !revokes(n)).length;

const personalOf = (n: number) => ({
  name: `Learner ${n}`,
  email: `learner.${n}@bench.example`,
  phone: `+91${String(9_000_000_000 + n)}`,
  externalId: `ext-${n}`,
});

/** A fixed scramble of a learner's number, so the mix of progress is varied but repeatable. */
const spread = (n: number) => (n * 7_919 + 104_729) % 1_000_003;

const contentIds = Array.from({ length: UNITS * CONTENTS_PER_UNIT }, (_, i) => `content-${i + 1}`);
const quizIds = Array.from({ length: ASSESSED_UNITS }, (_, unit) => `quiz-${unit + 1}`);

const hierarchy = () =>
  Array.from({ length: UNITS }, (_, unit) => ({
    id: `unit-${unit + 1}`,
    name: `Unit ${unit + 1}`,
    kind: 'unit',
    children: [
      ...contentIds
        .slice(unit * CONTENTS_PER_UNIT, (unit + 1) * CONTENTS_PER_UNIT)
        .map((id) => ({ id, name: id, kind: 'content' })),
      ...(unit < ASSESSED_UNITS
        ? [
            {
              id: quizIds[unit]!,
              name: `Quiz ${unit + 1}`,
              kind: 'assessment',
              maxScore: QUIZ_MAX_SCORE,
            },
          ]
        : []),
    ],
  }));

const STATES: readonly (readonly [string, readonly string[]])[] = [
  ['Kerala', ['Ernakulam', 'Kozhikode', 'Thrissur']],
  ['Karnataka', ['Bengaluru Urban', 'Mysuru', 'Udupi', 'Dharwad']],
  ['Tamil Nadu', ['Chennai', 'Madurai']],
  ['Odisha', ['Khordha', 'Cuttack', 'Ganjam']],
  ['Assam', ['Kamrup', 'Dibrugarh']],
];

/** Varied location and school attributes, which the progress exhaust's columns show. */
const attributesOf = (n: number) => {
  const [state, districts] = STATES[n % STATES.length]!;
  const district = districts[spread(n) % districts.length]!;
  const school = spread(n) % 400;
  return {
    userType: n % 20 === 0 ? 'teacher' : 'student',
    userSubType: null,
    state,
    district,
    block: `${district} block ${(spread(n) % 7) + 1}`,
    cluster: `cluster-${spread(n) % 50}`,
    schoolId: `school-${school}`,
    schoolName: `Government School ${school}`,
    organisationName: 'Benchmark organisation',
  };
};

/** Events on enrolment streams that a read model has not applied yet. */
const eventsBehind = async (db: Client, projection: string): Promise<number> => {
  const { rows } = await db.query<{ behind: string }>(
    `SELECT count(*) AS behind
       FROM hub_events e, hub_projection_checkpoints c
      WHERE c.projection = $1
        AND (e.transaction_id, e.global_position) >
            -- Positions are zero-padded: through bigint, or xid8 would read them as octal.
            (coalesce(nullif(split_part(c.position, ':', 1), ''), '0')::bigint::text::xid8,
             coalesce(nullif(split_part(c.position, ':', 2), ''), '0')::bigint)
        AND e.stream_name LIKE 'enrolment-%'`,
    [projection],
  );
  return Number(rows[0]?.behind ?? 0);
};

/** Pids of the PostgreSQL backends serving the scratch database (all but this connection). */
const backendPids = async (db: Client): Promise<number[]> => {
  const { rows } = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend'
        AND pid <> pg_backend_pid()`,
  );
  return rows.map((row) => row.pid);
};

/**
 * CPU ticks of those backends (the server is local, so /proc shows them). The hub's pool keeps
 * its connections, so a backend seen at the start is still there at the end.
 */
const backendTicks = (pids: readonly number[]): Map<number, number> =>
  new Map(pids.map((pid) => [pid, cpuTicksOf(pid)]));

const waitForReadModels = async (db: Client): Promise<void> => {
  // The read models of every enrolment event: one still catching up would take CPU from the
  // reports. (lms-mirror reads only enrolments and unenrolments, so its checkpoint stays behind.)
  for (const projection of ['enrolments', 'assessment-responses', 'group-activity']) {
    for (;;) {
      const behind = await eventsBehind(db, projection);
      if (behind === 0) break;
      await sleep(100);
    }
  }
};

interface BulkJobView {
  jobId: string;
  status: string;
  percent: number;
  processed: number;
  enrolled: number;
}

const bulkEnrol = async (hub: Hub): Promise<void> => {
  const userIds = Array.from({ length: LEARNERS }, (_, n) => learnerId(n));
  const started = performance.now();
  let status: BulkJobView = await hub.expect(
    'POST',
    `/v1/batches/${BATCH_ID}/enrolments/bulk`,
    { userIds },
    202,
  );
  let lastPercent = -1;
  while (status.status === 'queued' || status.status === 'running') {
    await sleep(200);
    status = await hub.expect(
      'GET',
      `/v1/batches/${BATCH_ID}/enrolments/bulk/${status.jobId}`,
      undefined,
      200,
    );
    if (status.percent >= lastPercent + 20) {
      lastPercent = status.percent;
      progress(`bulk enrolment: ${status.percent} % (${fmtInt(status.processed)} rows)`);
    }
  }
  if (status.status !== 'completed' || status.enrolled !== LEARNERS)
    throw new Error(`bulk enrolment ended ${JSON.stringify(status)}`);
  progress(`bulk enrolment done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};

interface ContentUpdate {
  userId: string;
  contentId: string;
  status: 2;
  lastAccessTime: string;
}

/**
 * Completed contents, in course order, for PROGRESS_PERCENT % of the learners: between 1 and 15
 * each, and every content for one in ten of them, so unit progress and completion vary. A
 * learner's updates all go in one request, which the hub applies as one write per learner, and
 * no two requests name the same learner, so none contend for an enrolment stream.
 */
const progressRequests = (): ContentUpdate[][] => {
  const at = new Date().toISOString();
  const requests: ContentUpdate[][] = [];
  let current: ContentUpdate[] = [];
  for (let n = 0; n < LEARNERS; n++) {
    if (n % 100 >= PROGRESS_PERCENT) continue;
    const completed = spread(n) % 10 === 0 ? contentIds.length : 1 + (spread(n) % 15);
    if (current.length + completed > UPDATES_PER_REQUEST) {
      requests.push(current);
      current = [];
    }
    for (const contentId of contentIds.slice(0, completed))
      current.push({ userId: learnerId(n), contentId, status: 2, lastAccessTime: at });
  }
  if (current.length > 0) requests.push(current);
  return requests;
};

const recordProgress = async (hub: Hub): Promise<number> => {
  const requests = progressRequests();
  const updates = requests.reduce((sum, contents) => sum + contents.length, 0);
  progress(`progress: ${fmtInt(updates)} updates in ${fmtInt(requests.length)} requests`);
  let failed = 0;
  await inParallel(requests.length, CONCURRENCY, 'progress requests', async (index) => {
    const result: { failed: number } = await hub.expect(
      'POST',
      `/v1/batches/${BATCH_ID}/progress`,
      { contents: requests[index] },
      200,
    );
    failed += result.failed;
  });
  if (failed > 0) throw new Error(`${failed} progress updates were refused`);
  return updates;
};

/**
 * Attempts for ATTEMPT_LEARNERS learners, spread over the batch: 1 to ASSESSED_UNITS of the
 * quizzes each, two questions of 5 points per attempt, with varied scores.
 */
const plannedAttempts = (): { userId: string; quiz: number; n: number }[] => {
  const step = ATTEMPT_LEARNERS === 0 ? 1 : Math.max(1, Math.floor(LEARNERS / ATTEMPT_LEARNERS));
  const attempts: { userId: string; quiz: number; n: number }[] = [];
  for (let i = 0; i < ATTEMPT_LEARNERS; i++) {
    const n = i * step;
    const quizzes = 1 + (spread(n) % ASSESSED_UNITS);
    for (let quiz = 0; quiz < quizzes; quiz++) attempts.push({ userId: learnerId(n), quiz, n });
  }
  return attempts;
};

const recordAttempts = async (hub: Hub): Promise<number> => {
  const at = new Date().toISOString();
  const attempts = plannedAttempts();
  progress(`assessments: ${fmtInt(attempts.length)} attempts (one request each)`);
  await inParallel(attempts.length, CONCURRENCY, 'attempts', async (index) => {
    const { userId, quiz, n } = attempts[index]!;
    const contentId = quizIds[quiz]!;
    const half = QUIZ_MAX_SCORE / 2;
    await hub.expect(
      'POST',
      `/v1/batches/${BATCH_ID}/assessments`,
      {
        userId,
        contentId,
        attemptId: `attempt-${userId}-${contentId}`,
        submittedAt: at,
        responses: [1, 2].map((question) => ({
          questionId: `${contentId}-q${question}`,
          type: 'mcq',
          title: `Question ${question} of ${contentId}`,
          response: { answer: (spread(n + question) % 4) + 1 },
          score: spread(n + quiz + question) % (half + 1),
          maxScore: half,
        })),
      },
      200,
    );
  });
  return attempts.length;
};

/** Consents straight to the store (set-up); each learner's decisions in one new stream. */
const recordConsents = async (url: string): Promise<void> => {
  const at = new Date().toISOString();
  const decision = (type: string, userId: string, by: string) => ({
    type,
    data: {
      userId,
      courseId: COURSE_ID,
      consumerOrganisationId: ORGANISATION_ID,
      [`${by}By`]: userId,
      [`${by}At`]: at,
    },
  });
  const deciding = Array.from({ length: LEARNERS }, (_, n) => n).filter(consents);
  progress(`consents: ${fmtInt(deciding.length)} learners (set-up, not measured)`);
  await appendPerLearner(url, deciding.length, 'consents', async (index) => {
    const n = deciding[index]!;
    const userId = learnerId(n);
    return [
      {
        stream: `consent-${userId}`,
        events: [
          decision('ConsentGranted', userId, 'granted'),
          ...(revokes(n) ? [decision('ConsentRevoked', userId, 'revoked')] : []),
        ],
      },
    ];
  });
};

/** Erasures through the API, which destroys the learner's key as an admin would. */
const eraseSome = async (hub: Hub): Promise<void> => {
  const erasing = Array.from({ length: LEARNERS }, (_, n) => n).filter(erased);
  progress(`erasing the personal data of ${fmtInt(erasing.length)} learners`);
  await inParallel(erasing.length, CONCURRENCY, 'erasures', async (index) => {
    await hub.expect(
      'DELETE',
      `/v1/users/${learnerId(erasing[index]!)}/personal-data`,
      undefined,
      204,
    );
  });
};

interface ProcessedBatch {
  batchId: string;
  filePath: string;
  fileSize: number;
  rows: number;
}

interface ExhaustDetails {
  requestId: string;
  status: 'SUBMITTED' | 'PROCESSING' | 'SUCCESS' | 'FAILED';
  downloadUrls: string[];
  executionTime: number | null;
  errMessage: string | null;
  processedBatches: ProcessedBatch[];
  rowsWritten: number;
}

interface JobView {
  id: string;
  state: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  details?: ExhaustDetails;
}

type ExhaustRun =
  | { made: false; outcome: string; reason: string | null }
  | {
      made: true;
      type: string;
      requestId: string;
      seconds: number;
      /** From sending POST /v1/jobs to its 201. */
      postSeconds: number;
      /** From the job's creation to a runner starting it, by the job's own timestamps. */
      queuedSeconds: number;
      /** From the runner starting the job to its end: making the file and recording it. */
      runningSeconds: number;
      /** What the request's details say it took (executionTime, ms), null when unsaid. */
      executionTime: number | null;
      /** From sending POST /v1/jobs to the mail's arrival; null when none came within a minute. */
      mailSeconds: number | null;
      rows: number;
      rowsExpected: number;
      fileSize: number;
      fileSizeOnDisk: number | null;
      rssBefore: number;
      rssPeak: number;
      hubCores: number;
      /** The scratch database's backends: the report's queries, the status polls. */
      postgresCores: number;
      machineCores: number | null;
    };

const runExhaust = async (
  hub: Hub,
  db: Client,
  mailbox: Mailbox,
  token: string,
  type: string,
  exhaustDir: string,
  rowsExpected: number,
): Promise<ExhaustRun> => {
  const pid = hub.pid;
  const pgBefore = backendTicks(await backendPids(db));
  const rssBefore = rssOf(pid);
  let rssPeak = rssBefore;
  // Memory is sampled on its own timer so a slow status answer does not leave gaps.
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssOf(pid));
  }, POLL_MS);
  const ticks = cpuTicksOf(pid);
  const cpu = sampleCpu();
  const started = performance.now();
  try {
    // A tag of its own, so a re-run on a kept database the same day makes a new request.
    const response = await hub.call(
      'POST',
      '/v1/jobs',
      { type, batchId: BATCH_ID, encryptionKey: ENCRYPTION_KEY, tag: `bench-${Date.now()}` },
      token,
    );
    if (response.status !== 201) {
      const body = response.body as { code?: string } | null;
      return {
        made: false,
        outcome: `not made by this build (${response.status} ${body?.code ?? 'no code'})`,
        reason: null,
      };
    }
    const { requestId } = response.body as { requestId: string };
    const postSeconds = (performance.now() - started) / 1000;
    let job: JobView;
    for (;;) {
      job = await hub.expect('GET', `/v1/jobs/${requestId}`, undefined, 200, token);
      const status = job.details?.status;
      const ended =
        (job.state === 'completed' && status === 'SUCCESS') ||
        (job.state === 'failed' && status === 'FAILED');
      if (ended) break;
      await sleep(POLL_MS);
    }
    const seconds = (performance.now() - started) / 1000;
    rssPeak = Math.max(rssPeak, rssOf(pid));
    const hubCores = (cpuTicksOf(pid) - ticks) / 100 / seconds;
    const { machineCores } = measuredSince(cpu, 0);
    // Backends opened during the run count from zero.
    const pgTicks = (await backendPids(db)).reduce(
      (sum, backend) => sum + cpuTicksOf(backend) - (pgBefore.get(backend) ?? 0),
      0,
    );
    const postgresCores = pgTicks / 100 / seconds;
    const details = job.details!;
    // Accepted but failed (a user-info report of a course that asks no consent): an outcome to
    // show, not a fault of the benchmark.
    if (details.status !== 'SUCCESS')
      return {
        made: false,
        outcome: `accepted (201), job FAILED after ${seconds.toFixed(2)} s`,
        reason: details.errMessage ?? job.error ?? 'no reason given',
      };
    const mailed = await mailbox.arrival(`Your ${type} report is ready`, started, 60_000);
    const batch = details.processedBatches[0];
    const key = details.downloadUrls[0];
    if (!batch || key === undefined) throw new Error(`${type} made no file`);
    const fileSizeOnDisk = await stat(join(exhaustDir, key)).then(
      (found) => found.size,
      () => null,
    );
    const startedAt = Date.parse(job.startedAt ?? job.createdAt);
    const finishedAt = Date.parse(job.finishedAt ?? job.startedAt ?? job.createdAt);
    return {
      made: true,
      type,
      requestId,
      seconds,
      postSeconds,
      queuedSeconds: (startedAt - Date.parse(job.createdAt)) / 1000,
      runningSeconds: (finishedAt - startedAt) / 1000,
      executionTime: details.executionTime,
      mailSeconds: mailed === null ? null : (mailed - started) / 1000,
      rows: batch.rows,
      rowsExpected,
      fileSize: batch.fileSize,
      fileSizeOnDisk,
      rssBefore,
      rssPeak,
      hubCores,
      postgresCores,
      machineCores,
    };
  } finally {
    clearInterval(sampler);
  }
};

const mib = (bytes: number) => fmtMiB(bytes);

interface Mailbox {
  url: string;
  /** When the first message with `subject` came in after `since` (performance.now()), or null. */
  arrival(subject: string, since: number, timeoutMs: number): Promise<number | null>;
  close(): Promise<void>;
}

/** A real SMTP server the hub mails to: what arrived and when, by subject. */
const startMailbox = async (): Promise<Mailbox> => {
  const arrivals: { subject: string; at: number }[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    size: 100 * 1024 * 1024,
    onData(stream, _session, callback) {
      void text(stream).then((raw) => {
        const subject = /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
        arrivals.push({ subject, at: performance.now() });
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    arrival: async (subject, since, timeoutMs) => {
      for (const deadline = performance.now() + timeoutMs; performance.now() < deadline;) {
        const found = arrivals.find((mail) => mail.at >= since && mail.subject === subject);
        if (found) return found.at;
        await sleep(20);
      }
      return null;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

interface SetUp {
  seconds: number;
  /** The set-up hub's resident memory at its end. */
  rss: number;
}

const setUp = async (hub: Hub, url: string, db: Client): Promise<SetUp> => {
  const started = performance.now();
  await hub.expect(
    'POST',
    '/v1/courses',
    {
      courseId: COURSE_ID,
      name: 'Benchmark course',
      organisationId: ORGANISATION_ID,
      trackable: { enabled: true },
      userConsent: true,
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
  await recordLearnerProfiles(url, db, {
    count: LEARNERS,
    idOf: learnerId,
    organisationId: ORGANISATION_ID,
    attributesOf,
    personalOf,
  });
  await recordConsents(url);
  await eraseSome(hub);
  await bulkEnrol(hub);
  progress(`hub rss ${mib(rssOf(hub.pid))}`);
  await recordProgress(hub);
  progress(`hub rss ${mib(rssOf(hub.pid))}`);
  await recordAttempts(hub);
  await waitForReadModels(db);
  // What autovacuum does within a minute of a bulk load; this machine's server runs without it,
  // and on row estimates from before the load the planner sorts the whole batch for each page.
  await db.query('ANALYZE');
  const setup = { seconds: (performance.now() - started) / 1000, rss: rssOf(hub.pid) };
  progress(
    `set-up done in ${setup.seconds.toFixed(0)} s; read models have applied everything; hub rss ${mib(setup.rss)}`,
  );
  return setup;
};

const hubOrigin = (setup: SetUp | null): string =>
  setup === null
    ? 'reports on a hub started on the kept database'
    : FRESH_HUB
      ? `reports on a fresh hub (the set-up's had rss ${mib(setup.rss)})`
      : `reports on the hub that did the set-up (rss ${mib(setup.rss)} after it)`;

/** A database an earlier run kept: used as it is, and kept again. */
const reuse = (url: string, name: string): ScratchDatabase => {
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return { name, url: scratch.toString(), drop: async () => undefined };
};

/** Reports are asked for by an admin of the batch's organisation, whose consents they show. */
const orgAdminToken = async (hub: Hub): Promise<string> => {
  // The mail goes to the address in the requester's profile.
  const principalId = 'bench-org-admin';
  const profile = await hub.call('PUT', `/v1/users/${principalId}/profile`, {
    organisationId: ORGANISATION_ID,
    name: 'Bench Admin',
    email: 'bench.admin@bench.example',
  });
  if (profile.status >= 300) throw new Error(`recording the admin's profile: ${profile.status}`);
  const issued: { token: string } = await hub.expect(
    'POST',
    '/v1/admin/api-keys',
    {
      principalId,
      organisationId: ORGANISATION_ID,
      roles: ['ORG_ADMIN'],
    },
    201,
  );
  return issued.token;
};

/** Rows each report should have, from the set-up's plan. */
const rowsExpected = (type: string): number => {
  switch (type) {
    case 'response-exhaust':
      // A row per question of each attempt, two per attempt here.
      return plannedAttempts().length * 2;
    case 'userinfo-exhaust':
      return activeConsents();
    default:
      return LEARNERS;
  }
};

const rowsFor = (run: ExhaustRun, target: { seconds: number | null; label: string }) => {
  if (!run.made) return [[target.label, run.outcome, '-', '-']];
  const fileOk = run.fileSizeOnDisk !== null && run.fileSizeOnDisk === run.fileSize;
  return [
    [
      `${run.type}: request to file (POST to job completed)`,
      `${run.seconds.toFixed(2)} s`,
      target.seconds === null ? '-' : `<= ${target.seconds} s`,
      target.seconds === null ? '-' : run.seconds <= target.seconds ? 'yes' : 'no',
    ],
    [
      '  POST answered / job waiting (createdAt to startedAt) / running (to finishedAt)',
      `${run.postSeconds.toFixed(2)} s / ${run.queuedSeconds.toFixed(2)} s / ${run.runningSeconds.toFixed(2)} s`,
      '-',
      '-',
    ],
    [
      '  request to e-mail received (SMTP server in this process)',
      run.mailSeconds === null ? 'none within 60 s' : `${run.mailSeconds.toFixed(2)} s`,
      '<= 60 s',
      run.mailSeconds !== null && run.mailSeconds <= 60 ? 'yes' : 'no',
    ],
    [
      '  details.executionTime',
      run.executionTime === null ? 'null (not recorded)' : `${fmtInt(run.executionTime)} ms`,
      '-',
      '-',
    ],
    [
      '  rows (processedBatches[0].rows)',
      fmtInt(run.rows),
      fmtInt(run.rowsExpected),
      run.rows === run.rowsExpected ? 'yes' : 'no',
    ],
    ['  rows/s, request to file', fmtInt(run.rows / run.seconds), '-', '-'],
    [
      '  zip (AES-256): size reported / on disk under EXHAUST_DIR',
      `${fmtInt(run.fileSize)} B / ${run.fileSizeOnDisk === null ? 'missing' : `${fmtInt(run.fileSizeOnDisk)} B`}`,
      'same, exists',
      fileOk ? 'yes' : 'no',
    ],
    [
      '  hub rss before / peak (sampled every 100 ms) / growth',
      `${mib(run.rssBefore)} / ${mib(run.rssPeak)} / ${mib(run.rssPeak - run.rssBefore)}`,
      `<= ${mib(PEAK_RSS_TARGET)} (300 MB)`,
      run.rssPeak <= PEAK_RSS_TARGET ? 'yes' : 'no',
    ],
    [
      '  CPU: hub / its PostgreSQL backends / whole machine',
      `${run.hubCores.toFixed(2)} / ${run.postgresCores.toFixed(2)} / ${run.machineCores === null ? '-' : run.machineCores.toFixed(2)} cores`,
      '-',
      '-',
    ],
  ];
};

const main = async () => {
  const url = serverUrl();
  progress(
    `server ${redactUrl(url)}; ${fmtInt(LEARNERS)} learners, ${PROGRESS_PERCENT} % with progress, ${fmtInt(ATTEMPT_LEARNERS)} with attempts`,
  );
  let scratch: ScratchDatabase | null = null;
  let hub: Hub | null = null;
  const exhaustDir = await mkdtemp(join(os.tmpdir(), 'hub-bench-exhaust-'));
  const mailbox: Mailbox | null = await startMailbox();
  const hubEnv = { EXHAUST_DIR: exhaustDir, SMTP_URL: mailbox.url, MAIL_FROM: 'hub@bench.example' };
  const cleanup = async () => {
    await hub?.stop();
    await mailbox?.close();
    if (KEEP_DATABASE)
      progress(`kept database ${scratch?.name}: BENCH_REUSE_DATABASE=${scratch?.name}`);
    else await scratch?.drop();
    await rm(exhaustDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    scratch = REUSE_DATABASE === '' ? await createScratchDatabase(url) : reuse(url, REUSE_DATABASE);
    hub = await Hub.start(scratch.url, { adminToken: TOKEN, env: hubEnv });
    const db = new Client({ connectionString: scratch.url, application_name: 'hub-bench-lag' });
    // Dropping the scratch database at the end ends this connection: expected, not a failure.
    db.on('error', () => undefined);
    await db.connect();
    const pg = await db.query<{ server_version: string }>('SHOW server_version');

    const setup = REUSE_DATABASE === '' ? await setUp(hub, scratch.url, db) : null;
    if (setup && FRESH_HUB) {
      await hub.stop();
      hub = await Hub.start(scratch.url, { adminToken: TOKEN, env: hubEnv });
    }
    await waitForReadModels(db);
    if (IDLE_SECONDS > 0) {
      progress(`idling ${IDLE_SECONDS} s before the reports; hub rss ${mib(rssOf(hub.pid))}`);
      await sleep(IDLE_SECONDS * 1000);
    }
    progress(`hub for the reports: rss ${mib(rssOf(hub.pid))}`);
    const updates = progressRequests().reduce((sum, contents) => sum + contents.length, 0);
    const attempts = plannedAttempts().length;
    const orgAdmin = await orgAdminToken(hub);

    // Other work on the machine slows the reports down: the load says how much there was.
    const load = os.loadavg()[0] ?? 0;
    const runs: { run: ExhaustRun; seconds: number | null; label: string }[] = [];
    for (const [type, seconds] of [
      ['progress-exhaust', PROGRESS_EXHAUST_TARGET_S],
      ['course-progress-report', COURSE_REPORT_TARGET_S],
      ['response-exhaust', OTHER_REPORT_TARGET_S],
      ['userinfo-exhaust', OTHER_REPORT_TARGET_S],
    ] as const) {
      progress(`${type}: requesting`);
      const run = await runExhaust(
        hub,
        db,
        mailbox,
        orgAdmin,
        type,
        exhaustDir,
        rowsExpected(type),
      );
      progress(
        run.made
          ? `${type}: ${fmtInt(run.rows)} rows in ${run.seconds.toFixed(2)} s`
          : `${type}: ${run.outcome}${run.reason === null ? '' : `: ${run.reason}`}`,
      );
      runs.push({ run, seconds, label: type });
    }

    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const lines = [
      `Exhaust benchmark, ${new Date().toISOString()}`,
      `cores: ${os.cpus().length} (${cpu}), memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; postgres ${pg.rows[0]?.server_version}; load average ${load.toFixed(2)} when the reports began`,
      `hub: one process (PostgreSQL server adapter), driven over HTTP from the benchmark process; files in a temporary EXHAUST_DIR; ${hubOrigin(setup)}${IDLE_SECONDS > 0 ? `, idle ${IDLE_SECONDS} s before them` : ''}`,
      `course: ${UNITS} units x ${CONTENTS_PER_UNIT} contents, units 1-${ASSESSED_UNITS} with an assessment (maxScore ${QUIZ_MAX_SCORE}); batch of ${fmtInt(LEARNERS)} learners`,
      `set-up (not measured, ${setup === null ? `done by an earlier run, database ${scratch.name}` : `${setup.seconds.toFixed(0)} s`}): ${fmtInt(activeConsents())} active consents, ${fmtInt(LEARNERS / 100)} erasures, ${fmtInt(updates)} completed contents for ${PROGRESS_PERCENT} % of learners, ${fmtInt(attempts)} attempts by ${fmtInt(ATTEMPT_LEARNERS)} learners`,
      '',
      renderTable(
        ['measure', 'value', 'target', 'met?'],
        runs.flatMap(({ run, seconds, label }) => rowsFor(run, { seconds, label })),
      ),
      '',
      ...runs.flatMap(({ run, label }) =>
        !run.made && run.reason !== null ? [`${label}: ${run.reason}`] : [],
      ),
      `request to file: from sending POST /v1/jobs to the GET /v1/jobs/{id} (polled every ${POLL_MS} ms) that shows it completed with details.status SUCCESS`,
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

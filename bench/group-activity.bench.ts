import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { PostgresDatabase } from '../src/database/postgres-database';
import { SqlEventStore } from '../src/event-store/sql/sql-event-store';
import { encodeMemberCursor } from '../src/groups/group-activity-views';
import { envInt, fmtInt, progress, renderTable } from './bench-support';
import { HttpClient } from './http-client';
import { Hub, percentile, rssOf } from './hub-process';
import { inParallel, NO_ATTRIBUTES, recordLearnerProfiles } from './learner-profiles';
import { ms, openLoop, sorted, spread, yesNo } from './open-loop';
import { createScratchDatabase, redactUrl, ScratchDatabase, serverUrl } from './scratch-database';

/**
 * Group activity benchmark: a hub process on a scratch PostgreSQL database, driven over HTTP.
 * Set-up, not measured: a course of UNITS units (two contents and an assessment each), a batch
 * of BIG_GROUP learners, a group of GROUP members (its PUT snapshot) and one of BIG_GROUP
 * members (its events straight to the store), and some attempts in the small group.
 * Measured, for SECONDS: GET /v1/groups/{id}/activities/{course} on the small group open-loop at
 * GET_RATE/s while UPDATE_RATE progress updates/s flow for its members; meanwhile probes time an
 * update until the aggregate shows it. Then the first page of the big group, one at a time.
 */

const GROUP = envInt('BENCH_GROUP_MEMBERS', 1_000);
const BIG_GROUP = Math.max(GROUP, envInt('BENCH_BIG_GROUP_MEMBERS', 100_000));
const GET_RATE = envInt('BENCH_GET_RATE', 200);
const UPDATE_RATE = envInt('BENCH_UPDATE_RATE', 500);
/** Updates per progress request (one learner each): UPDATE_RATE / this requests a second. */
const UPDATES_PER_REQUEST = 10;
const SECONDS = envInt('BENCH_SECONDS', 20);
const BIG_PAGE_REQUESTS = envInt('BENCH_BIG_PAGE_REQUESTS', 50);
const UNITS = 10;
const TOKEN = 'bench-admin-token-0123456789abcdef-group';
const COURSE = 'bench-group-course';
const BATCH = 'bench-group-batch';
const ORG = 'org-bench';
const SMALL = 'bench-group-1k';
const BIG = 'bench-group-big';

/** Targets. */
const GET_P99_MS = 20;
const VISIBLE_P99_MS = 1_000;
const BIG_FIRST_PAGE_MS = 50;

const learnerId = (n: number) => `learner-${String(n).padStart(6, '0')}`;
const contentsOf = (unit: number) => [`u${unit}-c1`, `u${unit}-c2`];
const quizOf = (unit: number) => `u${unit}-quiz`;
/** Every content a learner can complete, in course order. */
const allContents = Array.from({ length: UNITS }, (_, unit) => contentsOf(unit + 1)).flat();

const hierarchy = () =>
  Array.from({ length: UNITS }, (_, i) => ({
    id: `unit-${i + 1}`,
    name: `Unit ${i + 1}`,
    kind: 'unit',
    children: [
      ...contentsOf(i + 1).map((id) => ({ id, name: id, kind: 'content' })),
      { id: quizOf(i + 1), name: `Quiz ${i + 1}`, kind: 'assessment', maxScore: 10 },
    ],
  }));

/** The big group's events straight to the store (set-up): its snapshot would be 100,000 rows. */
const recordBigGroup = async (url: string): Promise<void> => {
  const database = new PostgresDatabase(url, {
    maxConnections: 2,
    applicationName: 'bench-set-up',
  });
  const store = await SqlEventStore.open(database);
  const at = new Date().toISOString();
  const event = (type: string, data: Record<string, unknown>) => ({
    id: randomUUID(),
    type,
    data: { groupId: BIG, ...data },
    metadata: { principal: 'hub-admin', tenant: 'system' },
  });
  try {
    await store.appendToStream(
      `group-${BIG}`,
      [
        event('GroupCreated', {
          organisationId: ORG,
          name: 'Everyone',
          description: null,
          createdBy: 'hub-admin',
          createdAt: at,
        }),
        event('GroupActivityAdded', {
          activityId: COURSE,
          activityType: 'Course',
          addedBy: 'hub-admin',
          addedAt: at,
        }),
      ],
      { expectedRevision: 'no_stream' },
    );
    for (let from = 0; from < BIG_GROUP; from += 1_000) {
      const members = Array.from({ length: Math.min(1_000, BIG_GROUP - from) }, (_, i) =>
        event('GroupMemberAdded', {
          userId: learnerId(from + i),
          role: 'member',
          status: 'active',
          addedBy: 'hub-admin',
          addedAt: at,
        }),
      );
      await store.appendToStream(`group-${BIG}`, members);
    }
  } finally {
    await store.close();
    await database.close();
  }
};

const waitForProjection = async (db: Client, check: string, label: string): Promise<void> => {
  for (const deadline = Date.now() + 600_000; ; await sleep(250)) {
    const { rows } = await db.query<{ ok: boolean }>(check);
    if (rows[0]?.ok) return;
    if (Date.now() > deadline) throw new Error(`${label} never caught up`);
  }
};

const setUp = async (hub: Hub, url: string, db: Client): Promise<void> => {
  await hub.expect(
    'POST',
    '/v1/courses',
    {
      courseId: COURSE,
      name: 'Group bench course',
      organisationId: ORG,
      trackable: { enabled: true },
      children: hierarchy(),
    },
    201,
  );
  await hub.expect(
    'POST',
    '/v1/batches',
    {
      batchId: BATCH,
      courseId: COURSE,
      name: 'Group bench batch',
      enrollmentType: 'open',
      startDate: new Date().toISOString(),
      endDate: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
    },
    201,
  );
  await recordLearnerProfiles(url, db, {
    count: BIG_GROUP,
    idOf: learnerId,
    organisationId: ORG,
    attributesOf: () => ({ ...NO_ATTRIBUTES, userType: 'student' }),
  });
  const userIds = Array.from({ length: BIG_GROUP }, (_, n) => learnerId(n));
  const bulk: { jobId: string } = await hub.expect(
    'POST',
    `/v1/batches/${BATCH}/enrolments/bulk`,
    { userIds },
    202,
  );
  for (;;) {
    const job: { status: string } = await hub.expect(
      'GET',
      `/v1/batches/${BATCH}/enrolments/bulk/${bulk.jobId}`,
      undefined,
      200,
    );
    if (job.status === 'completed') break;
    if (job.status !== 'queued' && job.status !== 'running')
      throw new Error(`bulk enrolment ${job.status}`);
    await sleep(500);
  }
  progress(`${fmtInt(BIG_GROUP)} learners enrolled`);
  await hub.expect(
    'PUT',
    `/v1/groups/${SMALL}`,
    {
      organisationId: ORG,
      name: 'Class of 1,000',
      members: Array.from({ length: GROUP }, (_, n) => ({ userId: learnerId(n) })),
      activities: [{ activityId: COURSE, activityType: 'Course' }],
    },
    201,
  );
  await recordBigGroup(url);
  // Attempts: each small-group learner takes three of the ten quizzes.
  await inParallel(GROUP * 3, 8, 'attempts', async (index) => {
    const n = Math.floor(index / 3);
    const unit = ((n + index) % UNITS) + 1;
    await hub.expect(
      'POST',
      `/v1/batches/${BATCH}/assessments`,
      {
        userId: learnerId(n),
        contentId: quizOf(unit),
        attemptId: `a-${n}-${unit}`,
        submittedAt: new Date().toISOString(),
        responses: [{ questionId: 'q1', type: 'mcq', score: (n * 7 + unit) % 11, maxScore: 10 }],
      },
      200,
    );
  });
  await waitForProjection(
    db,
    `SELECT (SELECT member_count FROM group_activity_groups WHERE group_id = '${BIG}') = ${BIG_GROUP}
        AND (SELECT count(*) FROM group_activity_enrolments) = ${BIG_GROUP} AS ok`,
    'the group-activity read model',
  );
  await db.query('ANALYZE');
};

interface Probe {
  /** From sending the update to the GET that first shows it, in ms. */
  visibleMs: number;
}

/** One learner's next content completed; resolves when the members page shows it. */
const probe = async (client: HttpClient, n: number, step: number): Promise<Probe | null> => {
  const userId = learnerId(n);
  const before = `cursor=${encodeMemberCursor({ value: null, userId: learnerId(n - 1) })}`;
  const path = `/v1/groups/${SMALL}/activities/${COURSE}?limit=1${n > 0 ? `&${before}` : ''}`;
  const sent = performance.now();
  const update = await client.send(
    'POST',
    `/v1/batches/${BATCH}/progress`,
    TOKEN,
    JSON.stringify({
      contents: [
        {
          userId,
          contentId: allContents[step % allContents.length],
          status: 2,
          lastAccessTime: new Date().toISOString(),
        },
      ],
    }),
  );
  if (update.status !== 200) return null;
  const expected = (JSON.parse(update.text) as { results: { completedCount?: number }[] })
    .results[0]?.completedCount;
  for (const deadline = sent + 10_000; performance.now() < deadline; await sleep(10)) {
    const answer = await client.send('GET', path, TOKEN);
    const member = (
      JSON.parse(answer.text) as { members: { enrolment: { completedCount: number } | null }[] }
    ).members[0];
    if (expected === undefined || (member?.enrolment?.completedCount ?? -1) >= expected)
      return { visibleMs: performance.now() - sent };
  }
  return { visibleMs: Number.POSITIVE_INFINITY };
};

const main = async () => {
  const url = serverUrl();
  progress(`server ${redactUrl(url)}; groups of ${fmtInt(GROUP)} and ${fmtInt(BIG_GROUP)}`);
  let scratch: ScratchDatabase | null = null;
  let hub: Hub | null = null;
  try {
    scratch = await createScratchDatabase(url);
    hub = await Hub.start(scratch.url, { adminToken: TOKEN });
    const db = new Client({ connectionString: scratch.url });
    db.on('error', () => undefined);
    await db.connect();
    const setupStarted = performance.now();
    await setUp(hub, scratch.url, db);
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    progress(
      `set-up done in ${setupSeconds.toFixed(0)} s; hub rss ${fmtInt(rssOf(hub.pid) / 2 ** 20)} MiB`,
    );

    const client = new HttpClient(hub.base, 64);
    const getLatencies: number[] = [];
    let getFailures = 0;
    const updateLatencies: number[] = [];
    let updateFailures = 0;
    const probes: number[] = [];
    const stop = performance.now() + SECONDS * 1000;
    const probing = (async () => {
      for (let i = 0; performance.now() < stop; i++) {
        const result = await probe(client, (i * 37) % GROUP, 1_000 + i);
        if (result) probes.push(result.visibleMs);
        await sleep(100);
      }
    })();
    let updateStep = 0;
    const updates = openLoop(UPDATE_RATE / UPDATES_PER_REQUEST, SECONDS, 'progress', async () => {
      const contents = Array.from({ length: UPDATES_PER_REQUEST }, () => {
        const step = updateStep++;
        return {
          userId: learnerId(step % GROUP),
          contentId: allContents[Math.floor(step / GROUP) % allContents.length],
          status: 2,
          lastAccessTime: new Date().toISOString(),
        };
      });
      const sent = performance.now();
      try {
        const answer = await client.send(
          'POST',
          `/v1/batches/${BATCH}/progress`,
          TOKEN,
          JSON.stringify({ contents }),
        );
        if (answer.status !== 200) updateFailures += 1;
      } catch {
        updateFailures += 1;
      }
      updateLatencies.push(performance.now() - sent);
    });
    const gets = openLoop(GET_RATE, SECONDS, 'GET', async (i) => {
      const sort = ['userId', 'progress', 'score'][i % 3];
      const sent = performance.now();
      try {
        const answer = await client.send(
          'GET',
          `/v1/groups/${SMALL}/activities/${COURSE}?limit=100&sort=${sort}`,
          TOKEN,
        );
        if (answer.status !== 200) getFailures += 1;
      } catch {
        getFailures += 1;
      }
      getLatencies.push(performance.now() - sent);
    });
    const [getSchedule] = await Promise.all([gets, updates, probing]);

    const bigFirstPage: number[] = [];
    for (let i = 0; i < BIG_PAGE_REQUESTS; i++) {
      const sent = performance.now();
      const answer = await client.send(
        'GET',
        `/v1/groups/${BIG}/activities/${COURSE}?limit=100`,
        TOKEN,
      );
      if (answer.status !== 200) throw new Error(`big group: ${answer.status} ${answer.text}`);
      bigFirstPage.push(performance.now() - sent);
    }
    client.close();

    const get = sorted(getLatencies);
    const visible = sorted(probes);
    // The first read finds nothing kept: the aggregates over every member are computed then.
    const bigCold = bigFirstPage[0] ?? Number.NaN;
    const big = sorted(bigFirstPage.slice(1));
    const rows = [
      [
        `GET small group (${fmtInt(GROUP)} members, first page of 100) at ${GET_RATE}/s, with ${UPDATE_RATE} updates/s: p50 / p95 / p99 / max`,
        spread(get),
        `p99 <= ${GET_P99_MS} ms`,
        yesNo(percentile(get, 0.99) <= GET_P99_MS),
      ],
      [
        '  GETs answered / failed; send lateness p99',
        `${fmtInt(get.length)} / ${getFailures}; ${ms(percentile(getSchedule.lateness, 0.99))} ms`,
        '-',
        '-',
      ],
      [
        '  progress requests (10 updates each): answered / failed; p99',
        `${fmtInt(updateLatencies.length)} / ${updateFailures}; ${ms(percentile(sorted(updateLatencies), 0.99))} ms`,
        '-',
        '-',
      ],
      [
        `update to aggregate visible (${fmtInt(visible.length)} probes): p50 / p95 / p99 / max`,
        spread(visible),
        `p99 <= ${VISIBLE_P99_MS} ms`,
        yesNo(percentile(visible, 0.99) <= VISIBLE_P99_MS),
      ],
      [
        `first page of the ${fmtInt(BIG_GROUP)}-member group, first read (nothing kept yet)`,
        `${ms(bigCold)} ms`,
        `<= ${BIG_FIRST_PAGE_MS} ms`,
        yesNo(bigCold <= BIG_FIRST_PAGE_MS),
      ],
      [
        `  the next ${BIG_PAGE_REQUESTS - 1}, in turn (kept view): p50 / p95 / p99 / max`,
        spread(big),
        `<= ${BIG_FIRST_PAGE_MS} ms`,
        yesNo(percentile(big, 0.99) <= BIG_FIRST_PAGE_MS),
      ],
    ];
    process.stdout.write(
      [
        `Group activity benchmark, ${new Date().toISOString()}`,
        `cores: ${os.cpus().length}, load average ${os.loadavg()[0]?.toFixed(2)}; set-up ${setupSeconds.toFixed(0)} s; hub rss ${fmtInt(rssOf(hub.pid) / 2 ** 20)} MiB`,
        '',
        renderTable(['measure', 'value', 'target', 'met?'], rows),
        '',
      ].join('\n'),
    );
    await db.end();
  } finally {
    await hub?.stop();
    await scratch?.drop();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

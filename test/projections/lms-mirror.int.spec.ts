import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { runProjection } from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { lmsMirrorProjection } from '../../projections/lms-mirror/lms-mirror.projection';
import {
  claimDueTargets,
  MirrorTarget,
  releaseLeasesOf,
} from '../../projections/lms-mirror/lms-mirror.query';
import { batchStream } from '../../src/batches/batch.events';
import { courseStream } from '../../src/courses/course.events';
import { SqlDatabase } from '../../src/database/sql-database';
import { enrolmentStream } from '../../src/enrolments/enrolment.events';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { lmsMirrorRequestStream, lmsMirrorStream } from '../../src/lms/lms-mirror.events';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const LINK_A = 'https://lms.test/courses/course-v1:hub+A+2026/course';
const LINK_B = 'https://lms.test/courses/course-v1:hub+B+2026/course';
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 9, minute)).toISOString();

interface TargetRow {
  user_id: string;
  resource_link: string;
  desired_active: boolean;
  desired_version: string;
  handled_version: string | null;
  mirrored_active: boolean | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
}

describe('lms-mirror projection and its work queue', () => {
  let database: TestSqlDatabase;
  let db: SqlDatabase;
  let store: SqlEventStore;

  const append = async (stream: string, type: string, data: Record<string, unknown>) => {
    const result = await store.appendToStream(stream, [
      { id: randomUUID(), type, data, metadata: { principal: 'test' } },
    ]);
    return result.position;
  };
  const catchUp = async () => {
    const head = await store.headPosition();
    for (;;) {
      await runProjection(
        lmsMirrorProjection,
        { db, store },
        { batchSize: 5, signal: new AbortController().signal, untilCaughtUp: true },
      );
      const checkpoint = await readCheckpoint(db, lmsMirrorProjection.name);
      if (head === null || (checkpoint?.position && checkpoint.position >= head)) return;
      await sleep(20);
    }
  };
  const target = async (userId: string, link: string) =>
    (
      await db.query<TargetRow & Record<string, unknown>>(
        'SELECT * FROM lms_mirror_targets WHERE user_id = $1 AND resource_link = $2',
        [userId, link],
      )
    ).rows[0];
  const batch = (batchId: string, courseId: string, lmsResourceLink?: string) =>
    append(batchStream(batchId), 'BatchCreated', {
      batchId,
      courseId,
      organisationId: 'org-1',
      createdBy: 'alice',
      createdAt: at(0),
      ...(lmsResourceLink ? { lmsResourceLink } : {}),
    });
  const enrolment = (batchId: string, userId: string, type: 'UserEnrolled' | 'UserUnenrolled') =>
    append(enrolmentStream(batchId, userId), type, { batchId, courseId: 'course-1', userId });
  const mirrored = (claimed: MirrorTarget, active: boolean) =>
    append(lmsMirrorStream(claimed.userId, claimed.resourceLink), 'LmsEnrollmentMirrored', {
      userId: claimed.userId,
      resourceLink: claimed.resourceLink,
      desiredVersion: claimed.desiredVersion,
      lease: claimed.lease,
      lms: 'openedx-0',
      lmsCourseId: 'course-v1:hub+A+2026',
      active,
      changed: true,
      calls: 2,
      attempt: claimed.attempts + 1,
      mirroredAt: at(5),
    });
  const failed = (claimed: MirrorTarget, nextAttemptAt: string | null) =>
    append(lmsMirrorStream(claimed.userId, claimed.resourceLink), 'LmsEnrollmentMirrorFailed', {
      userId: claimed.userId,
      resourceLink: claimed.resourceLink,
      desiredVersion: claimed.desiredVersion,
      lease: claimed.lease,
      lms: 'openedx-0',
      lmsCourseId: 'course-v1:hub+A+2026',
      active: claimed.desiredActive,
      status: 503,
      message: 'Service Unavailable',
      attempt: claimed.attempts + 1,
      nextAttemptAt,
      failedAt: at(5),
    });
  const claim = (owner: string, now = new Date(), limit = 100) =>
    claimDueTargets(db, `${owner}:1`, now, new Date(now.getTime() + 60_000), limit);

  beforeAll(async () => {
    database = await openTestSqlDatabase('lms_mirror_projection');
    db = database.db;
    store = await SqlEventStore.open(db, { pollIntervalMs: 100 });
    await append(courseStream('course-1'), 'CourseRegistered', {
      courseId: 'course-1',
      organisationId: 'org-1',
      lmsResourceLink: LINK_A,
    });
    await batch('b1', 'course-1');
    await batch('b2', 'course-1');
    await batch('b-own', 'course-1', LINK_B);
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('wants a learner enrolled at the batch’s link while any of their batches there is active', async () => {
    await enrolment('b1', 'ann', 'UserEnrolled');
    await enrolment('b2', 'ann', 'UserEnrolled');
    await enrolment('b-own', 'ann', 'UserEnrolled');
    await catchUp();
    expect(await target('ann', LINK_A)).toMatchObject({ desired_active: true });
    expect(await target('ann', LINK_B)).toMatchObject({ desired_active: true });
    const version = (await target('ann', LINK_A))!.desired_version;
    await enrolment('b1', 'ann', 'UserUnenrolled');
    await catchUp();
    // Still enrolled through b2: nothing changes, not even the version.
    expect(await target('ann', LINK_A)).toMatchObject({
      desired_active: true,
      desired_version: version,
    });
    await enrolment('b2', 'ann', 'UserUnenrolled');
    await catchUp();
    const after = (await target('ann', LINK_A))!;
    expect(after.desired_active).toBe(false);
    expect(after.desired_version > version).toBe(true);
  });

  it('creates no row for an unenrolment nothing was ever wanted for', async () => {
    await enrolment('b1', 'ben', 'UserUnenrolled');
    await catchUp();
    expect(await target('ben', LINK_A)).toBeUndefined();
  });

  it('leases each due pair to one claimer at a time, and again once the lease runs out', async () => {
    await enrolment('b1', 'cy', 'UserEnrolled');
    await enrolment('b1', 'di', 'UserEnrolled');
    await catchUp();
    const [first, second] = await Promise.all([claim('one'), claim('two')]);
    const claimed = [...first, ...second].map((t) => `${t.userId}|${t.resourceLink}`);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed).toEqual(expect.arrayContaining([`cy|${LINK_A}`, `di|${LINK_A}`]));
    expect(await claim('three')).toEqual([]);
    const later = new Date(Date.now() + 61_000);
    expect((await claim('three', later)).length).toBe(claimed.length);
    await releaseLeasesOf(db, 'three');
  });

  it('a mirrored outcome settles the pair; one for an older wish leaves the newer one due', async () => {
    await enrolment('b1', 'ed', 'UserEnrolled');
    await catchUp();
    const claimed = (await claim('w')).find((t) => t.userId === 'ed')!;
    await enrolment('b1', 'ed', 'UserUnenrolled'); // changes while the call is out
    await mirrored(claimed, true);
    await catchUp();
    await releaseLeasesOf(db, 'w');
    const row = (await target('ed', LINK_A))!;
    expect(row).toMatchObject({ desired_active: false, mirrored_active: true });
    const again = (await claim('w')).find((t) => t.userId === 'ed');
    expect(again).toMatchObject({ desiredActive: false });
    await mirrored(again!, false);
    await catchUp();
    expect(await target('ed', LINK_A)).toMatchObject({ mirrored_active: false, attempts: 0 });
    await releaseLeasesOf(db, 'w');
    expect((await claim('w')).find((t) => t.userId === 'ed')).toBeUndefined();
    await releaseLeasesOf(db, 'w');
  });

  it('an outcome hands back its own lease, and a stale one leaves a newer lease alone', async () => {
    await enrolment('b1', 'ida', 'UserEnrolled');
    await catchUp();
    const first = (await claim('w')).find((t) => t.userId === 'ida')!;
    await releaseLeasesOf(db, 'w');
    await failed(first, new Date(Date.now() - 1).toISOString());
    await catchUp();
    const second = (await claim('v')).find((t) => t.userId === 'ida')!;
    expect(second.lease).toBe('v:1');
    // The first claim's outcome again (a redelivery) must not free the second claim's lease.
    await db.transaction(async (tx) => {
      for (const event of await store.readStream(lmsMirrorStream('ida', LINK_A)))
        await lmsMirrorProjection.handlers[event.type]?.(event, tx);
    });
    expect((await claim('u')).find((t) => t.userId === 'ida')).toBeUndefined();
    await mirrored(second, true);
    await catchUp();
    expect(await target('ida', LINK_A)).toMatchObject({ lease_owner: null, mirrored_active: true });
    await releaseLeasesOf(db, 'u');
    await releaseLeasesOf(db, 'v');
  });

  it('a failure waits for its retry time; one without a retry time waits for a new wish', async () => {
    await enrolment('b1', 'flo', 'UserEnrolled');
    await catchUp();
    const claimed = (await claim('w')).find((t) => t.userId === 'flo')!;
    const retryAt = new Date(Date.now() + 30_000);
    await failed(claimed, retryAt.toISOString());
    await catchUp();
    await releaseLeasesOf(db, 'w');
    expect(await target('flo', LINK_A)).toMatchObject({
      attempts: 1,
      last_error: 'Service Unavailable',
    });
    expect((await claim('w')).find((t) => t.userId === 'flo')).toBeUndefined();
    await releaseLeasesOf(db, 'w');
    const retried = (await claim('w', new Date(retryAt.getTime() + 1))).find(
      (t) => t.userId === 'flo',
    )!;
    expect(retried.attempts).toBe(1);
    await failed(retried, null);
    await catchUp();
    await releaseLeasesOf(db, 'w');
    expect(
      (await claim('w', new Date(Date.now() + 3_600_000))).find((t) => t.userId === 'flo'),
    ).toBeUndefined();
    await releaseLeasesOf(db, 'w');
    // A request to mirror again makes it due, its attempts from zero.
    await append(lmsMirrorRequestStream('b1'), 'LmsMirrorRequested', {
      batchId: 'b1',
      userId: 'flo',
      requestedBy: 'admin',
      requestedAt: at(9),
    });
    await catchUp();
    expect((await claim('w')).find((t) => t.userId === 'flo')).toMatchObject({ attempts: 0 });
    await releaseLeasesOf(db, 'w');
  });

  it('moving the course’s link moves the learners of the batches that follow it', async () => {
    await enrolment('b1', 'gus', 'UserEnrolled');
    await enrolment('b-own', 'hal', 'UserEnrolled');
    await catchUp();
    await append(courseStream('course-1'), 'CourseLmsResourceLinkChanged', {
      courseId: 'course-1',
      from: LINK_A,
      to: LINK_B,
      changedBy: 'alice',
      changedAt: at(10),
    });
    await catchUp();
    expect(await target('gus', LINK_A)).toMatchObject({ desired_active: false });
    expect(await target('gus', LINK_B)).toMatchObject({ desired_active: true });
    expect(await target('hal', LINK_B)).toMatchObject({ desired_active: true });
    expect(await target('hal', LINK_A)).toBeUndefined();
  });

  it('applies a redelivered event once, and a rebuild gives the same rows', async () => {
    const snapshot = async () => ({
      courses: (await db.query('SELECT * FROM lms_mirror_courses ORDER BY 1')).rows,
      batches: (await db.query('SELECT * FROM lms_mirror_batches ORDER BY 1')).rows,
      enrolments: (await db.query('SELECT * FROM lms_mirror_enrolments ORDER BY 1, 2')).rows,
      targets: (await db.query('SELECT * FROM lms_mirror_targets ORDER BY 1, 2')).rows,
    });
    const before = await snapshot();
    const events = await store.readAll({ maxCount: 1_000 });
    await db.transaction(async (tx) => {
      for (const event of events) await lmsMirrorProjection.handlers[event.type]?.(event, tx);
    });
    expect(await snapshot()).toEqual(before);
    await rebuildProjection(lmsMirrorProjection, { db, store });
    await catchUp();
    expect(await snapshot()).toEqual(before);
  });
});

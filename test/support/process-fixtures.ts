import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { sampleHierarchy, utcDay } from './hub-harness';
import { HubProcess, spawnHub, untilListening } from './hub-process';

/** What the suites that run hubs as processes (kill, take over, restart) share. */

export type Body = Record<string, unknown>;

export const learnerId = (n: number) => `learner-${String(n).padStart(6, '0')}`;

/** A hub process with this admin token, tracked in `children` so a suite can kill what is left. */
export const startHubProcess = async (
  children: HubProcess[],
  adminToken: string,
  env: Record<string, string>,
): Promise<HubProcess> => {
  const hub = await spawnHub({ ...env, HUB_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' });
  children.push(hub);
  await untilListening(hub);
  return hub;
};

/** Kills (SIGKILL) every tracked hub still running and forgets them. */
export const killAll = (children: HubProcess[]): void => {
  for (const { child } of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};

/** One JSON request with a bearer token; the body parsed. */
export const callHub = async (
  hub: HubProcess,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Body }> => {
  const response = await fetch(`${hub.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Body };
};

/** Learner profiles straight into the store (set-up), 64 at a time. */
export const seedProfiles = async (
  store: SqlEventStore,
  learners: number,
  organisationId: string,
): Promise<void> => {
  for (let from = 0; from < learners; from += 64)
    await Promise.all(
      Array.from({ length: Math.min(64, learners - from) }, (_, i) => {
        const userId = learnerId(from + i);
        return store.appendToStream(
          `user-${userId}`,
          [
            {
              id: randomUUID(),
              type: 'UserProfileRecorded',
              data: {
                userId,
                organisationId,
                personal: null,
                personalDigest: null,
                attributes: {},
                recordedBy: 'process-test',
                recordedAt: new Date().toISOString(),
              },
              metadata: { principal: 'process-test', tenant: 'system' },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
      }),
    );
};

/** The pid in a job lease owner (`host:pid:random:n`), to find the instance holding a job. */
export const leaseOwnerPid = (leaseOwner: string | undefined): number =>
  Number(/:(\d+):[0-9a-f]{8}:\d+$/.exec(leaseOwner ?? '')?.[1]);

/** A course and an open batch of it, once the users read model has every seeded learner. */
export const prepareBatch = async (
  hub: HubProcess,
  token: string,
  batch: { batchId: string; courseId: string; organisationId: string; learners: number },
): Promise<void> => {
  const lastLearner = `/v1/users/${learnerId(batch.learners - 1)}/profile`;
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    if ((await callHub(hub, token, 'GET', lastLearner)).status === 200) break;
    if (Date.now() > deadline) throw new Error('The users read model never caught up');
  }
  const course = await callHub(hub, token, 'POST', '/v1/courses', {
    courseId: batch.courseId,
    name: batch.courseId,
    organisationId: batch.organisationId,
    trackable: { enabled: true },
    children: sampleHierarchy(),
  });
  if (course.status !== 201) throw new Error(`The course was refused: ${course.status}`);
  const created = await callHub(hub, token, 'POST', '/v1/batches', {
    batchId: batch.batchId,
    courseId: batch.courseId,
    name: 'Everyone',
    enrollmentType: 'open',
    startDate: new Date().toISOString(),
    endDate: utcDay(30),
  });
  if (created.status !== 201) throw new Error(`The batch was refused: ${created.status}`);
};

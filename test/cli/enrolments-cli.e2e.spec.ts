import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEnrolmentsCommand } from '../../src/cli/enrolments-command';
import { InvalidInputError } from '../../src/errors/hub-error';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  recordUser,
  RunningHub,
  sampleHierarchy,
  startHub,
  utcDay,
} from '../support/hub-harness';

/** `npm run hub -- enrolments bulk`: uploads a file to a running hub and follows the job. */
describe('CLI bulk enrolment', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  const dir = mkdtempSync(join(tmpdir(), 'hub-cli-enrol-'));

  beforeAll(async () => {
    storage = await freshStorage('cli-enrol');
    hub = await startHub(storage.storage);
    for (const userId of ['cli-1', 'cli-2', 'cli-3']) await recordUser(hub, userId, 'org-c');
    expect(
      (
        await hub.call(ADMIN_TOKEN, 'POST', '/v1/courses', {
          courseId: 'course-cli',
          name: 'CLI',
          organisationId: 'org-c',
          trackable: { enabled: true },
          children: sampleHierarchy(),
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await hub.call(ADMIN_TOKEN, 'POST', '/v1/batches', {
          batchId: 'batch-cli',
          courseId: 'course-cli',
          name: 'CLI batch',
          enrollmentType: 'invite-only',
          startDate: utcDay(1),
          endDate: utcDay(20),
        })
      ).status,
    ).toBe(201);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('enrols a CSV of user ids, reports the rows that failed and exits 0', async () => {
    const file = join(dir, 'users.csv');
    writeFileSync(file, 'userId\ncli-1\ncli-2\nnobody\ncli-3\n');
    const lines: string[] = [];
    const code = await runEnrolmentsCommand(
      ['bulk', 'batch-cli', file],
      { HUB_URL: hub.base, HUB_TOKEN: ADMIN_TOKEN },
      (line) => lines.push(line),
    );
    expect(code).toBe(0);
    expect(lines.join('\n')).toContain('row 3 nobody: USER_NOT_FOUND');
    const participants = await hub.call(ADMIN_TOKEN, 'GET', '/v1/batches/batch-cli/participants');
    expect(participants.body.counts).toEqual({ total: 3, active: 3, completed: 0 });
  });

  it('fails with the hub’s refusal for a batch the caller cannot see', async () => {
    const file = join(dir, 'one.json');
    writeFileSync(file, JSON.stringify({ userIds: ['cli-1'] }));
    await expect(
      runEnrolmentsCommand(
        ['bulk', 'no-such-batch', file],
        { HUB_URL: hub.base, HUB_TOKEN: ADMIN_TOKEN },
        () => undefined,
      ),
    ).rejects.toThrow('The hub refused the request (404 BATCH_NOT_FOUND)');
  });

  it('explains its usage without arguments, and asks for a token for another hub', async () => {
    const print = () => undefined;
    await expect(runEnrolmentsCommand([], {}, print)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      runEnrolmentsCommand(['bulk', 'b', 'f.csv'], { HUB_URL: hub.base }, print),
    ).rejects.toThrow('Set HUB_TOKEN');
  });
});

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, sampleHierarchy, utcDay } from '../support/hub-harness';
import { tempDataDir } from '../support/hub-config';
import {
  builtFilesExist,
  CliRun,
  exited,
  HubProcess,
  runCli,
  spawnHub,
  untilListening,
} from '../support/hub-process';

const STACK_FRAME = /^\s+at /m;

/** Every non-empty line a run printed on stderr. */
const errorLines = (run: CliRun) => run.stderr.split('\n').filter((line) => line.trim() !== '');

/**
 * The CLI on the embedded store, with nothing set but DATA_DIR: through the hub's API while a
 * hub holds the directory (it cannot be opened twice), with the store itself once none does.
 */
describe('the CLI on an embedded DATA_DIR, with and without a running hub', () => {
  const dataDir = tempDataDir('cli-hub');
  const env = { DATA_DIR: dataDir };
  const hubFile = join(dataDir, 'hub.json');
  const running = new Set<HubProcess>();
  let hub: HubProcess;
  let keyId: string;

  const startHub = async () => {
    const started = await spawnHub({ ...env, HUB_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' });
    running.add(started);
    await untilListening(started, () => existsSync(hubFile));
    return started;
  };

  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${hub.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };

  beforeAll(async () => {
    expect(builtFilesExist()).toBe(true);
    hub = await startHub();
  });

  afterAll(async () => {
    for (const { child } of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  describe('while a hub holds the DATA_DIR', () => {
    it('leaves its address and a credential in DATA_DIR/hub.json, readable by its owner only', () => {
      expect(statSync(hubFile).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(hubFile, 'utf8'))).toEqual({
        pid: hub.child.pid,
        url: hub.base,
        token: expect.stringMatching(/^lhl_/),
      });
    });

    it('issues, lists and revokes API keys through the hub', async () => {
      const created = await runCli(
        ['api-keys', 'create', '--principal', 'cli-user', '--org', 'org-cli', '--roles', 'LEARNER'],
        env,
      );
      expect(created).toMatchObject({ status: 0, stderr: '' });
      const issued = JSON.parse(created.stdout.slice(0, created.stdout.indexOf('\n}') + 2));
      expect(issued).toMatchObject({ principalId: 'cli-user', organisationId: 'org-cli' });
      keyId = issued.keyId;
      const works = await fetch(`${hub.base}/v1/admin/api-keys`, {
        headers: { authorization: `Bearer ${issued.token}` },
      });
      expect(works.status).toBe(403); // a LEARNER key: authenticated, not allowed

      const listed = await runCli(['api-keys', 'list'], env);
      expect(listed.status).toBe(0);
      expect(listed.stdout).toContain(keyId);

      const revoked = await runCli(['api-keys', 'revoke', keyId], env);
      expect(revoked).toMatchObject({ status: 0, stdout: `Revoked ${keyId}\n` });
      expect((await runCli(['api-keys', 'list'], env)).stdout).not.toContain(keyId);
      expect((await runCli(['api-keys', 'list', '--revoked'], env)).stdout).toContain(keyId);
    });

    it('shows the projections’ status from the hub', async () => {
      const status = await runCli(['projections', 'status'], env);
      expect(status).toMatchObject({ status: 0, stderr: '' });
      expect(status.stdout).toContain('events applied');
      expect(status.stdout).toContain('api-keys');
    });

    it('refuses a rebuild in one line: the hub runs the projections', async () => {
      const rebuild = await runCli(['projections', 'rebuild', 'api-keys'], env);
      expect(rebuild.status).toBe(1);
      expect(errorLines(rebuild)).toEqual([
        `The hub (process ${hub.child.pid}, ${hub.base}) holds DATA_DIR and runs the projections: stop it, then rebuild.`,
      ]);
    });

    it('runs a bulk enrolment on the hub it finds, without HUB_URL or HUB_TOKEN', async () => {
      for (const userId of ['bulk-1', 'bulk-2'])
        await call('PUT', `/v1/users/${userId}/profile`, { organisationId: 'org-cli' });
      await call('POST', '/v1/courses', {
        courseId: 'course-cli-hub',
        name: 'CLI',
        organisationId: 'org-cli',
        trackable: { enabled: true },
        children: sampleHierarchy(),
      });
      await call('POST', '/v1/batches', {
        batchId: 'batch-cli-hub',
        courseId: 'course-cli-hub',
        name: 'CLI batch',
        enrollmentType: 'invite-only',
        startDate: utcDay(1),
        endDate: utcDay(20),
      });
      const file = join(tempDataDir('cli-files'), 'users.csv');
      writeFileSync(file, 'userId\nbulk-1\nbulk-2\n');
      const bulk = await runCli(['enrolments', 'bulk', 'batch-cli-hub', file], env);
      expect(bulk.stderr).toMatch(/Job \S+ completed: 2 enrolled, 0 already enrolled, 0 failed/);
      expect(bulk.status).toBe(0);
    });

    it('prints a refusal of the hub as one line, with no stack trace', async () => {
      const revoke = await runCli(['api-keys', 'revoke', '01J00000000000000000000000'], env);
      expect(revoke.status).toBe(1);
      expect(errorLines(revoke)).toEqual([
        expect.stringMatching(/^The hub refused the request \(404 API_KEY_NOT_FOUND\): /),
      ]);
    });

    it('shows the stack trace at LOG_LEVEL=debug', async () => {
      const revoke = await runCli(['api-keys', 'revoke', '01J00000000000000000000000'], {
        ...env,
        LOG_LEVEL: 'debug',
      });
      expect(revoke.status).toBe(1);
      expect(revoke.stderr).toMatch(STACK_FRAME);
    });

    it('refuses a second hub on the same DATA_DIR in exactly one line, exiting 1', async () => {
      const second = await spawnHub(env);
      running.add(second);
      expect(await exited(second.child)).toBe(1);
      expect(second.output.join('').trim().split('\n')).toEqual([
        `Learning Hub failed to start: The embedded database in ${dataDir} is in use by process ${hub.child.pid}. Stop that process first, or point DATA_DIR elsewhere.`,
      ]);
      expect((await fetch(`${hub.base}/health`)).status).toBe(200);
    });
  });

  describe('once the hub has stopped', () => {
    beforeAll(async () => {
      hub.child.kill('SIGTERM');
      expect(await exited(hub.child)).toBe(0);
    });

    it('took hub.json away', () => {
      expect(existsSync(hubFile)).toBe(false);
    });

    it('opens the store itself for API keys and the projections', async () => {
      const listed = await runCli(['api-keys', 'list', '--revoked'], env);
      expect(listed.status).toBe(0);
      expect(listed.stdout).toContain(keyId);
      const status = await runCli(['projections', 'status'], env);
      expect(status.status).toBe(0);
      expect(status.stdout).toContain('api-keys');
      const rebuild = await runCli(['projections', 'rebuild', 'api-keys'], env);
      expect(rebuild.status).toBe(0);
      expect(rebuild.stderr).toMatch(/Rebuilt api-keys: \d+ events/);
    });

    it('says in one line that a bulk enrolment needs a running hub', async () => {
      const bulk = await runCli(['enrolments', 'bulk', 'batch-cli-hub', 'users.csv'], env);
      expect(bulk.status).toBe(1);
      expect(errorLines(bulk)).toEqual([
        `No hub is running on ${dataDir}, and bulk enrolment is a job of the hub: start it (npm start), or set HUB_URL and HUB_TOKEN to use another.`,
      ]);
    });

    it('explains a wrong command in one line, exiting 2', async () => {
      const wrong = await runCli(['api-keys', 'create', '--roles', 'NOBODY'], env);
      expect(wrong.status).toBe(2);
      expect(errorLines(wrong)).toEqual([expect.stringContaining('--principal must be')]);
      expect(wrong.stderr).not.toMatch(STACK_FRAME);
    });
  });

  describe('after a hub was killed (SIGKILL), leaving hub.json behind', () => {
    it('ignores the stale file and opens the store itself at once', async () => {
      const killed = await startHub();
      killed.child.kill('SIGKILL');
      await exited(killed.child);
      expect(existsSync(hubFile)).toBe(true);
      const started = Date.now();
      const listed = await runCli(['api-keys', 'list', '--revoked'], env);
      expect(listed.status).toBe(0);
      expect(listed.stdout).toContain(keyId);
      expect(Date.now() - started).toBeLessThan(8_000);
    });

    it('lets the next hub take the directory and its hub.json over', async () => {
      hub = await startHub();
      const status = await runCli(['projections', 'status'], env);
      expect(status.status).toBe(0);
      hub.child.kill('SIGTERM');
      expect(await exited(hub.child)).toBe(0);
    });
  });
});

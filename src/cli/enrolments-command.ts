import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../config/hub-config';
import { HubError, InvalidInputError } from '../errors/hub-error';
import { hubHolding } from './hub-access';
import { HubClient } from './hub-client';
import { ProgressBar } from './progress-bar';

export const ENROLMENTS_USAGE = `  npm run hub -- enrolments bulk <batchId> <file.csv|file.json>
                                           enrol the user ids of a file as a tracked job of the
                                           running hub and follow its progress`;

interface Job {
  jobId: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  total: number;
  processed: number;
  enrolled: number;
  alreadyEnrolled: number;
  failed: number;
  error: string | null;
}

type Env = Record<string, string | undefined>;

/**
 * Bulk enrolment from the command line: the hub's own API does the work (so it runs where the
 * hub runs and survives this process); the CLI uploads the file and draws the job's progress.
 * Returns the exit code; failures throw one-line errors.
 */
export const runEnrolmentsCommand = async (
  args: readonly string[],
  env: Env,
  print: (line: string) => void,
): Promise<number> => {
  const [command, batchId, file] = args;
  if (command !== 'bulk' || !batchId || !file)
    throw new InvalidInputError(
      'Usage: npm run hub -- enrolments bulk <batchId> <file.csv|file.json>',
    );
  const hub = await bulkTarget(env);
  const path = `/v1/batches/${encodeURIComponent(batchId)}/enrolments/bulk`;
  const type = file.endsWith('.json') ? 'application/json' : 'text/csv';
  let job = await hub.request<Job>('POST', path, { text: await readFile(file, 'utf8'), type });
  const bar = new ProgressBar(`Enrolling into ${batchId}`, process.stderr, 'rows');
  for (;;) {
    bar.update(job.processed, job.total);
    if (job.status === 'completed' || job.status === 'failed') break;
    await sleep(500);
    job = await hub.get<Job>(`${path}/${job.jobId}`);
  }
  bar.finish(
    `Job ${job.jobId} ${job.status}: ${job.enrolled} enrolled, ${job.alreadyEnrolled} already enrolled, ${job.failed} failed`,
  );
  if (job.failed > 0) await printFailures(hub, `${path}/${job.jobId}`, job.failed, print);
  if (job.status === 'failed') print(`The job stopped: ${job.error}`);
  return job.status === 'completed' ? 0 : 1;
};

/**
 * HUB_URL (with HUB_TOKEN) when set. Else, on the embedded store, the hub that holds DATA_DIR,
 * as its local system admin (HUB_TOKEN still names another principal); on a PostgreSQL server,
 * a hub on this machine's PORT with HUB_TOKEN.
 */
const bulkTarget = async (env: Env): Promise<HubClient> => {
  const token = env.HUB_TOKEN ?? env.HUB_ADMIN_TOKEN;
  const tokenNeeded = (url: string) =>
    new InvalidInputError(
      `Set HUB_TOKEN to an API key (or admin token) of ${url} that may enrol users in the batch.`,
    );
  if (env.HUB_URL) {
    if (!token) throw tokenNeeded(env.HUB_URL);
    return new HubClient(env.HUB_URL, token);
  }
  const config = loadConfig(env);
  if (config.storage.kind !== 'embedded') {
    const url = `http://127.0.0.1:${config.port}`;
    if (!token) throw tokenNeeded(url);
    return new HubClient(url, token);
  }
  const hub = await hubHolding(config.storage.dataDir);
  if (!hub)
    throw new HubError(
      'unavailable',
      'hub_not_running',
      `No hub is running on ${config.storage.dataDir}, and bulk enrolment is a job of the hub: start it (npm start), or set HUB_URL and HUB_TOKEN to use another.`,
    );
  return new HubClient(hub.url, env.HUB_TOKEN ?? hub.token);
};

const printFailures = async (
  hub: HubClient,
  jobPath: string,
  failed: number,
  print: (line: string) => void,
): Promise<void> => {
  const { items } = await hub.get<{
    items: { row: number; userId: string; code: string; detail: string }[];
  }>(`${jobPath}/failures?limit=20`);
  for (const failure of items)
    print(`  row ${failure.row} ${failure.userId}: ${failure.code} ${failure.detail}`);
  if (failed > items.length) print(`  ... all of them: GET ${jobPath}/failures`);
};

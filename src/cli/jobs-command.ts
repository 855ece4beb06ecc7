import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError } from '../errors/hub-error';
import { hubTarget } from './hub-target';
import { HubClient } from './hub-client';
import { ProgressBar } from './progress-bar';

export const JOBS_USAGE = `  npm run hub -- jobs show <jobId>         a job of the running hub: state, progress, result
  npm run hub -- jobs cancel <jobId>       cancel a queued or running job
  npm run hub -- jobs follow <jobId>       draw a job's progress until it ends`;

/** GET /v1/jobs/{id}: any job, whatever its kind. */
export interface JobView {
  id: string;
  kind: string;
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  attempts: number;
  progress: { done: number; total: number | null; percent: number | null };
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const POLL_MS = 500;

const isRunning = (job: JobView) => job.state === 'queued' || job.state === 'running';

/** Polls the job's generic view, drawing its progress, until it ends; returns its last view. */
export const followJob = async (
  hub: HubClient,
  jobId: string,
  bar: ProgressBar,
): Promise<JobView> => {
  for (;;) {
    const job = await hub.get<JobView>(`/v1/jobs/${encodeURIComponent(jobId)}`);
    bar.update(job.progress.done, job.progress.total);
    if (!isRunning(job)) return job;
    await sleep(POLL_MS);
  }
};

const describe = (job: JobView): string => {
  const { done, total, percent } = job.progress;
  const progress = total === null ? `${done} done` : `${done}/${total} (${percent ?? 0}%)`;
  const tail = job.error ? `, error: ${job.error}` : '';
  return `Job ${job.id} (${job.kind}) ${job.state}, attempt ${job.attempts}: ${progress}${tail}`;
};

/** `jobs show|cancel|follow <id>` through the running hub's API. Returns the exit code. */
export const runJobsCommand = async (
  args: readonly string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<number> => {
  const [command, jobId] = args;
  if (!jobId || (command !== 'show' && command !== 'cancel' && command !== 'follow'))
    throw new InvalidInputError('Usage: npm run hub -- jobs show|cancel|follow <jobId>');
  const hub = await hubTarget(env);
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
  let job: JobView;
  if (command === 'cancel') job = await hub.post<JobView>(`${path}/cancel`, {});
  else if (command === 'follow')
    job = await followJob(hub, jobId, new ProgressBar(`Job ${jobId}`, process.stderr, 'done'));
  else job = await hub.get<JobView>(path);
  print(describe(job));
  if (job.result !== null) print(JSON.stringify(job.result));
  return job.state === 'failed' || (command === 'follow' && job.state !== 'completed') ? 1 : 0;
};

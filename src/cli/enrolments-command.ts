import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProgressBar } from './progress-bar';

export const ENROLMENTS_USAGE = `  npm run hub -- enrolments bulk <batchId> <file.csv|file.json>
                                           enrol the user ids of a file as a tracked job and
                                           follow its progress (HUB_URL, HUB_TOKEN)`;

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

/**
 * Bulk enrolment from the command line: the hub's own API does the work (so it runs where the
 * hub runs and survives this process); the CLI uploads the file and draws the job's progress.
 */
export const runEnrolmentsCommand = async (
  args: readonly string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<number> => {
  const [command, batchId, file] = args;
  if (command !== 'bulk' || !batchId || !file) {
    print(`Usage:\n${ENROLMENTS_USAGE}`);
    return 2;
  }
  const base = (env.HUB_URL ?? `http://127.0.0.1:${env.PORT ?? '3000'}`).replace(/\/$/, '');
  const token = env.HUB_TOKEN ?? env.HUB_ADMIN_TOKEN;
  if (!token) {
    print('Set HUB_TOKEN to an API key (or admin token) that may enrol users in the batch.');
    return 2;
  }
  const body = await readFile(file, 'utf8');
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': file.endsWith('.json') ? 'application/json' : 'text/csv',
  };
  const path = `/v1/batches/${encodeURIComponent(batchId)}/enrolments/bulk`;
  const submitted = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  const answer = (await submitted.json()) as Job & { detail?: string; code?: string };
  if (!submitted.ok) {
    print(`The hub refused the request (${submitted.status} ${answer.code}): ${answer.detail}`);
    return 1;
  }
  const bar = new ProgressBar(`Enrolling into ${batchId}`, process.stderr, 'rows');
  let job: Job = answer;
  for (;;) {
    bar.update(job.processed, job.total);
    if (job.status === 'completed' || job.status === 'failed') break;
    await sleep(500);
    const polled = await fetch(`${base}${path}/${job.jobId}`, { headers });
    if (!polled.ok) {
      print(`Could not read job ${job.jobId}: ${polled.status}`);
      return 1;
    }
    job = (await polled.json()) as Job;
  }
  bar.finish(
    `Job ${job.jobId} ${job.status}: ${job.enrolled} enrolled, ${job.alreadyEnrolled} already enrolled, ${job.failed} failed`,
  );
  if (job.failed > 0) {
    const failures = await fetch(`${base}${path}/${job.jobId}/failures?limit=20`, { headers });
    const { items } = (await failures.json()) as {
      items: { row: number; userId: string; code: string; detail: string }[];
    };
    for (const failure of items)
      print(`  row ${failure.row} ${failure.userId}: ${failure.code} ${failure.detail}`);
    if (job.failed > items.length) print(`  ... all of them: GET ${path}/${job.jobId}/failures`);
  }
  if (job.status === 'failed') print(`The job stopped: ${job.error}`);
  return job.status === 'completed' ? 0 : 1;
};

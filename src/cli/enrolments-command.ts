import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors/hub-error';
import { HubClient } from './hub-client';
import { hubTarget } from './hub-target';
import { followJob, JobView } from './jobs-command';
import { ProgressBar } from './progress-bar';

export const ENROLMENTS_USAGE = `  npm run hub -- enrolments bulk <batchId> <file.csv|file.json>
                                           enrol the user ids of a file as a tracked job of the
                                           running hub and follow its progress`;

/** The bulk enrolment's own view: its counts. */
interface BulkJob {
  jobId: string;
  status: JobView['state'];
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
  const hub = await hubTarget(env);
  const path = `/v1/batches/${encodeURIComponent(batchId)}/enrolments/bulk`;
  const type = file.endsWith('.json') ? 'application/json' : 'text/csv';
  const submitted = await hub.request<BulkJob>('POST', path, {
    text: await readFile(file, 'utf8'),
    type,
  });
  const bar = new ProgressBar(`Enrolling into ${batchId}`, process.stderr, 'rows');
  await followJob(hub, submitted.jobId, bar);
  const job = await hub.get<BulkJob>(`${path}/${submitted.jobId}`);
  bar.finish(
    `Job ${job.jobId} ${job.status}: ${job.enrolled} enrolled, ${job.alreadyEnrolled} already enrolled, ${job.failed} failed`,
  );
  if (job.failed > 0) await printFailures(hub, `${path}/${job.jobId}`, job.failed, print);
  if (job.status === 'failed' || job.status === 'cancelled')
    print(`The job stopped: ${job.error ?? job.status}`);
  return job.status === 'completed' ? 0 : 1;
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

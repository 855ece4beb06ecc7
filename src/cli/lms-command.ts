import { InvalidInputError } from '../errors/hub-error';
import { followJob } from './jobs-command';
import { hubTarget } from './hub-target';
import { ProgressBar } from './progress-bar';

export const LMS_USAGE = `  npm run hub -- lms reconcile --batch <batchId> [--fix]
                                           read every learner of the batch from its LMS and
                                           report drift; --fix mirrors the drifted ones again`;

/** What the lms-reconcile job returns. */
interface ReconcileResult {
  lms: string;
  lmsCourseId: string;
  checked: number;
  drifted: number;
  unreadable: number;
  fixed: number;
  drift: { userId: string; hub: boolean; lms: boolean | null; error?: string }[];
}

const SHOWN = 20;
const state = (active: boolean | null) =>
  active === null ? 'unknown' : active ? 'enrolled' : 'not enrolled';

const parseArgs = (args: readonly string[]): { batchId: string; fix: boolean } => {
  const [command, ...rest] = args;
  const batchAt = rest.indexOf('--batch');
  const batchId = batchAt >= 0 ? rest[batchAt + 1] : undefined;
  const known = new Set(['--batch', '--fix', batchId]);
  if (
    command !== 'reconcile' ||
    !batchId ||
    batchId.startsWith('--') ||
    rest.some((arg) => !known.has(arg))
  )
    throw new InvalidInputError('Usage: npm run hub -- lms reconcile --batch <batchId> [--fix]');
  return { batchId, fix: rest.includes('--fix') };
};

/**
 * `lms reconcile`: the running hub reads the batch's learners from its LMS as a job (so it
 * survives this process); the CLI draws its progress and prints the drift. Exits 0 when the
 * LMS agrees (or was corrected), 1 when drift remains or the job failed.
 */
export const runLmsCommand = async (
  args: readonly string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<number> => {
  const { batchId, fix } = parseArgs(args);
  const hub = await hubTarget(env);
  const submitted = await hub.post<{ id: string }>(
    `/v1/batches/${encodeURIComponent(batchId)}/lms-reconcile`,
    { fix },
  );
  const bar = new ProgressBar(`Reading ${batchId} from its LMS`, process.stderr, 'learners');
  const job = await followJob(hub, submitted.id, bar);
  if (job.state !== 'completed') {
    bar.finish(`Job ${job.id} ${job.state}: ${job.error ?? 'stopped'}`);
    return 1;
  }
  const result = job.result as ReconcileResult;
  bar.finish(
    `${result.checked} learners checked in ${result.lms} (${result.lmsCourseId}): ${result.drifted} drifted, ${result.unreadable} unreadable${fix ? `, ${result.fixed} being mirrored again` : ''}`,
  );
  for (const entry of result.drift.slice(0, SHOWN))
    print(
      `  ${entry.userId}: hub ${state(entry.hub)}, LMS ${state(entry.lms)}${entry.error ? ` (${entry.error})` : ''}`,
    );
  if (result.drift.length > SHOWN)
    print(`  ... ${result.drift.length - SHOWN} more in GET /v1/jobs/${job.id}`);
  return result.unreadable === 0 && (fix || result.drifted === 0) ? 0 : 1;
};

import 'reflect-metadata';
import { describeFailure } from '../errors/failure-line';
import { InvalidInputError } from '../errors/hub-error';
import { API_KEYS_USAGE, runApiKeysCommand } from './api-keys-command';
import { ENROLMENTS_USAGE, runEnrolmentsCommand } from './enrolments-command';
import { JOBS_USAGE, runJobsCommand } from './jobs-command';
import { LMS_USAGE, runLmsCommand } from './lms-command';
import { PROJECTIONS_USAGE, runProjectionsCommand } from './projections-command';

const USAGE = `Usage:
${PROJECTIONS_USAGE}
${API_KEYS_USAGE}
${ENROLMENTS_USAGE}
${JOBS_USAGE}
${LMS_USAGE}

Configuration comes from the same environment as the hub (DATABASE_URL, EVENTSTORE_URL, DATA_DIR).
While a hub holds the embedded DATA_DIR, the commands go through it (it leaves its address and a
credential in DATA_DIR/hub.json); otherwise they open the store. enrolments bulk, jobs and lms
always go through a hub: HUB_URL and HUB_TOKEN name another one. Failures print one line;
LOG_LEVEL=debug adds the stack trace.`;

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Returns the exit code: 0 done, 1 failed, 2 wrong usage. */
const main = async ([area, ...args]: string[]): Promise<number> => {
  switch (area) {
    case 'api-keys':
      return runApiKeysCommand(args, print);
    case 'projections':
      if (args.length === 0) return usage(2);
      return isHelp(args[0]) ? usage(0) : runProjectionsCommand(args);
    case 'enrolments':
      return runEnrolmentsCommand(args, process.env, print);
    case 'jobs':
      return runJobsCommand(args, process.env, print);
    case 'lms':
      return runLmsCommand(args, process.env, print);
    case undefined:
      return usage(2);
    default:
      if (isHelp(area)) return usage(0);
      throw new InvalidInputError(`Unknown command "${area}" (npm run hub -- help lists them).`);
  }
};

const isHelp = (word: string | undefined) => word === 'help' || word === '--help' || word === '-h';

const usage = (code: number): number => {
  print(USAGE);
  return code;
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${describeFailure(error)}\n`);
    process.exitCode = error instanceof InvalidInputError ? 2 : 1;
  },
);

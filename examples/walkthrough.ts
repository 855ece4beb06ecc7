import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Answer, answerMismatches, parseExpectation } from './expected-answer';
import { ReadmeCommand, readmeExamples } from './readme-commands';

/**
 * Runs the README as a walkthrough: starts a hub on a fresh embedded DATA_DIR (or uses $HUB),
 * then every shell example of the README in order, in one bash, checking each answer against
 * what the README says it is. `node dist/examples/walkthrough.js [README.md]`.
 *
 * Each curl is wrapped so its status, headers and body are kept; after each command a check
 * (this script again, `check` mode) compares them with the command's `# → …` comment, or with
 * 2xx when it has none. A command that is not curl must exit 0.
 */

const ROOT = join(__dirname, '..', '..');
const CURL_MAX_SECONDS = 30;
const STREAM_SECONDS = 2;

interface Plan {
  commands: ReadmeCommand[];
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

/** The bash that runs the commands: a curl that keeps its answer, then each command and its check. */
const bashScript = (plan: Plan, planFile: string, answers: string): string => {
  const check = `${JSON.stringify(process.execPath)} ${JSON.stringify(__filename)} check ${JSON.stringify(planFile)}`;
  const prelude = `set -uo pipefail
__answers=${JSON.stringify(answers)}
curl() {
  rm -f "$__answers/headers" "$__answers/body"
  local seconds=${CURL_MAX_SECONDS}
  # A live stream (-N) never ends on its own: a moment of it is enough.
  case " $* " in *" -N "*) seconds=${STREAM_SECONDS} ;; esac
  command curl "$@" --max-time "$seconds" -D "$__answers/headers" | tee "$__answers/body"
  echo "\${PIPESTATUS[0]}" > "$__answers/curl-exit"
  echo
}
__check() { ${check} "$1" "$2" "$__answers" || exit 1; rm -f "$__answers/headers" "$__answers/body" "$__answers/curl-exit"; }
`;
  const steps = plan.commands.map((command, index) => {
    const delimiter = `__README_COMMAND_${index}__`;
    return [
      `printf '\\n\\033[1m[%s] README line %s\\033[0m\\n' ${JSON.stringify(command.section)} ${command.line}`,
      `cat <<'${delimiter}'`,
      command.text,
      delimiter,
      command.text,
      `__check ${index} $?`,
    ].join('\n');
  });
  return `${prelude}\n${steps.join('\n')}\nprintf '\\nThe walkthrough ran ${plan.commands.length} README commands; every answer was as the README says.\\n'\n`;
};

/** The last curl's answer, as the wrapper kept it; null when the command ran no curl. */
const readAnswer = (answers: string): (Answer & { curlExit: number }) | null => {
  if (!existsSync(join(answers, 'curl-exit'))) return null;
  const curlExit = Number(readFileSync(join(answers, 'curl-exit'), 'utf8').trim());
  const rawHeaders = existsSync(join(answers, 'headers'))
    ? readFileSync(join(answers, 'headers'), 'utf8')
    : '';
  const blocks = rawHeaders.split(/\r?\n\r?\n/).filter((block) => block.startsWith('HTTP/'));
  const last = blocks.at(-1) ?? '';
  const status = Number(/^HTTP\/\S+ (\d{3})/.exec(last)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of last.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let text = existsSync(join(answers, 'body')) ? readFileSync(join(answers, 'body'), 'utf8') : '';
  // With `curl -i` the headers are in the output too.
  while (text.startsWith('HTTP/'))
    text = text.slice(text.search(/\r?\n\r?\n/) + 1).replace(/^\r?\n/, '');
  let body: unknown = text;
  try {
    body = text.trim() ? JSON.parse(text) : null;
  } catch {
    // not JSON: the text is the body
  }
  return { curlExit, status, headers, body };
};

const check = (planFile: string, index: number, exitCode: number, answers: string): number => {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
  const command = plan.commands[index]!;
  const answer = readAnswer(answers);
  const fail = (problems: string[]): number => {
    process.stderr.write(
      `\n✗ README line ${command.line} (${command.section}) did not answer as the README says:\n  ${problems.join('\n  ')}\n`,
    );
    return 1;
  };
  if (answer === null) return exitCode === 0 ? 0 : fail([`exit status ${exitCode}`]);
  const streamed = answer.headers['content-type']?.startsWith('text/event-stream') ?? false;
  // A live stream never ends: the wrapper's --max-time (exit 28) is how it stops.
  if (answer.curlExit !== 0 && !(answer.curlExit === 28 && streamed))
    return fail([`curl exit status ${answer.curlExit}`]);
  if (exitCode !== 0 && !(exitCode === 28 && streamed)) return fail([`exit status ${exitCode}`]);
  const problems = answerMismatches(parseExpectation(command.expectation ?? ''), answer);
  return problems.length === 0 ? 0 : fail(problems);
};

const startHub = async (dataDir: string): Promise<{ url: string; child: ChildProcess }> => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port) };
  for (const name of ['DATABASE_URL', 'EVENTSTORE_URL', 'HUB_ADMIN_TOKEN', 'HUB_URL', 'HUB_TOKEN'])
    delete env[name];
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=32',
      '--heap-growing-percent=50',
      '--expose-gc',
      join(ROOT, 'dist', 'src', 'main.js'),
    ],
    {
      env: { ...env, HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error('The hub exited while starting');
    if (Date.now() > deadline) throw new Error('The hub did not answer /health within 60 s');
    await sleep(100);
  }
};

const runBash = (script: string, env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve) => {
    const bash = spawn('bash', ['-c', script], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    bash.once('exit', (code) => resolve(code ?? 1));
  });

const run = async (readmePath: string): Promise<number> => {
  const { commands, skipped } = readmeExamples(readFileSync(readmePath, 'utf8'));
  for (const block of skipped)
    process.stdout.write(
      `Not run: README line ${block.line} (${block.section}): ${block.reason}\n`,
    );
  const work = mkdtempSync(join(os.tmpdir(), 'hub-walkthrough-'));
  const planFile = join(work, 'plan.json');
  const answers = join(work, 'answers');
  writeFileSync(planFile, JSON.stringify({ commands } satisfies Plan));
  const dataDir = join(work, 'data');
  const given = process.env.HUB;
  const hub = given ? null : await startHub(dataDir);
  try {
    await runBash(`mkdir -p ${JSON.stringify(answers)}`, process.env);
    return await runBash(bashScript({ commands }, planFile, answers), {
      ...process.env,
      HUB: given ?? hub!.url,
      DATA_DIR: process.env.DATA_DIR && given ? process.env.DATA_DIR : dataDir,
    });
  } finally {
    if (hub && hub.child.exitCode === null) {
      const exited = new Promise((resolve) => hub.child.once('exit', resolve));
      hub.child.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
};

const main = async (argv: string[]): Promise<number> => {
  if (argv[0] === 'check') return check(argv[1]!, Number(argv[2]), Number(argv[3]), argv[4]!);
  return run(argv[0] ?? join(ROOT, 'README.md'));
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `The walkthrough failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);

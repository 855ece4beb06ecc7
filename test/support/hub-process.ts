import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(__dirname, '..', '..');
export const HUB_MAIN = join(ROOT, 'dist', 'src', 'main.js');
export const CLI_MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });

export interface HubProcess {
  child: ChildProcess;
  port: number;
  base: string;
  /** Everything it wrote, stdout and stderr. */
  output: string[];
}

/** `node dist/src/main.js` with `env` (and PATH) only: the hub as an operator starts it. */
export const spawnHub = async (env: Record<string, string>): Promise<HubProcess> => {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [HUB_MAIN], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, port, base: `http://127.0.0.1:${port}`, output };
};

/** Waits until `hub` answers /health and `ready()` holds (60 s at most). */
export const untilListening = async (hub: HubProcess, ready: () => boolean = () => true) => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (hub.child.exitCode !== null) throw new Error(`The hub exited:\n${hub.output.join('')}`);
    const status = await fetch(`${hub.base}/health`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200 && ready()) return;
    if (Date.now() > deadline) throw new Error(`The hub never listened:\n${hub.output.join('')}`);
    await sleep(100);
  }
};

export const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/src/cli/main.js …args` with `env` (and PATH) only. */
export const runCli = (args: string[], env: Record<string, string>): Promise<CliRun> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

export const builtFilesExist = (): boolean => existsSync(HUB_MAIN) && existsSync(CLI_MAIN);

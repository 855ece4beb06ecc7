import { ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the HTTP benchmarks share: a hub as a child process, and a few measuring helpers. */

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Resident memory of a process, in bytes (0 off Linux). */
export const rssOf = (pid: number): number => {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};

/** User plus system CPU of a process so far, in clock ticks (1/100 s; 0 off Linux). */
export const cpuTicksOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
};

export interface HubOptions {
  /** HUB_ADMIN_TOKEN of the hub; `call` and `expect` use it unless given another token. */
  adminToken: string;
  /** Further environment for the hub (on top of this process's). */
  env?: Record<string, string>;
  /** The script to run instead of the hub (`dist/src/main.js`), with the same environment. */
  entry?: string;
}

/** The node flags `npm start` runs the hub with, so the benchmarks run it as deployed. */
const startFlags = (): string[] => {
  const manifest = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
  ) as {
    scripts: { start: string };
  };
  const words = manifest.scripts.start.split(/\s+/);
  if (words[0] !== 'node') throw new Error('npm start does not run node');
  return words.slice(1).filter((word) => word.startsWith('--'));
};

/** A hub (`dist/src/main.js`) on a database, started as a child process on a free port. */
export class Hub {
  private constructor(
    readonly base: string,
    readonly child: ChildProcess,
    private readonly adminToken: string,
  ) {}

  static async start(databaseUrl: string, options: HubOptions): Promise<Hub> {
    const port = await freePort();
    // BENCH_HUB_NODE_ARGS: extra flags for the hub's node, e.g. --cpu-prof to profile it.
    const extraArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const main = options.entry ?? join(__dirname, '..', 'src', 'main.js');
    // BENCH_HUB_STDOUT: a file for the hub's standard output (e.g. what --trace-gc prints).
    const stdoutFile = process.env.BENCH_HUB_STDOUT;
    const stdout = stdoutFile ? openSync(stdoutFile, 'a') : 'ignore';
    const child = spawn(process.execPath, [...startFlags(), ...extraArgs, main], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        EVENTSTORE_URL: '',
        PORT: String(port),
        HOST: '127.0.0.1',
        HUB_ADMIN_TOKEN: options.adminToken,
        // BENCH_HUB_LOG_LEVEL: e.g. info, to see what the hub reports of itself.
        LOG_LEVEL: process.env.BENCH_HUB_LOG_LEVEL ?? 'warn',
        ...options.env,
      },
      stdio: ['ignore', stdout, 'inherit'],
    });
    const hub = new Hub(`http://127.0.0.1:${port}`, child, options.adminToken);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await fetch(`${hub.base}/health`);
        if (response.ok) return hub;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error('The hub exited while starting');
      if (Date.now() > deadline) throw new Error('The hub did not start within 30 s');
      await sleep(100);
    }
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    token: string = this.adminToken,
  ): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  async expect(
    method: string,
    path: string,
    body: unknown,
    status: number,
    token: string = this.adminToken,
  ): Promise<any> {
    const response = await this.call(method, path, body, token);
    if (response.status !== status)
      throw new Error(
        `${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`,
      );
    return response.body;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

import { extname, join } from 'node:path';
import { ResourceLimits, Worker } from 'node:worker_threads';
import type { TemplateRun } from './feed-items';
import { failedConversion, RenderOutcome } from './template-conversion';
import type { RenderRequest, RenderWorkerData, RenderWorkerMessage } from './template-worker';
import { FairQueue, Quarantine, setAsideText } from './template-scheduling';
import { RenderLimits, TemplateBudgetError } from './templates';

const WORKER_ENTRY = join(__dirname, `template-worker${extname(__filename)}`);

/**
 * Production runs the compiled worker, dist/src/subscriptions/template-worker.js. Under Jest this
 * module is itself the TypeScript source, which @swc/jest compiled in memory, and the worker must
 * run that same source, not a dist/ that may be stale or missing: a small eval'd bootstrap
 * teaches require() to compile .ts files with @swc/core (a devDependency, there wherever the
 * tests run), then loads the worker's .ts entry.
 */
const TYPESCRIPT_BOOTSTRAP = `
const { readFileSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const { transformSync } = require(require.resolve('@swc/core', { paths: [workerData.entry] }));
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
require(workerData.entry);
`;

const startRenderWorker = (data: RenderWorkerData, resourceLimits: ResourceLimits): Worker =>
  WORKER_ENTRY.endsWith('.ts')
    ? new Worker(TYPESCRIPT_BOOTSTRAP, {
        eval: true,
        workerData: { ...data, entry: WORKER_ENTRY },
        resourceLimits,
      })
    : new Worker(WORKER_ENTRY, { workerData: data, resourceLimits });

export interface RenderPoolOptions {
  /** Most worker threads; they start when there is work. */
  workers: number;
  /** One item's limits; the worker's clock check stops most renders at maxMilliseconds. */
  limits: RenderLimits & { maxMilliseconds: number };
  /** Heap (old generation) of each worker. */
  memoryMb: number;
  /** How long past maxMilliseconds a render may run before its worker is terminated. */
  graceMs?: number;
  /** How long compiling a source a worker has not seen yet may take. */
  compileTimeoutMs?: number;
  /** How long a template that keeps overrunning is set aside; 0: never. */
  quarantineMs?: number;
  /** Told of what an operator may want to know: workers terminated, crashed or not starting. */
  warn?: (message: string, context: Record<string, unknown>) => void;
}

export interface RenderResult {
  outcome: RenderOutcome;
  /** Time spent rendering (compiling not included). */
  renderMs: number;
}

export interface RenderTicket {
  result: Promise<RenderResult>;
  /** Leaves the queue if it is still waiting; a render under way finishes and is ignored. */
  cancel(): void;
}

export class RenderPoolClosed extends Error {
  constructor() {
    super('The template render pool is shut down');
    this.name = 'RenderPoolClosed';
  }
}

interface Job {
  readonly id: number;
  readonly caller: string;
  readonly run: TemplateRun;
  readonly settle: (result: RenderResult | Error) => void;
  startedAt: number;
}

type StopReason = 'over-time' | 'compile-time' | 'closing';

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  /** Why the pool is terminating it, if it is. */
  stopping: StopReason | null;
  error: (Error & { code?: string }) | null;
}

const DEFAULT_GRACE_MS = 100;
const DEFAULT_COMPILE_TIMEOUT_MS = 5_000;
const STARTUP_ATTEMPTS = 3;

/**
 * Worker threads rendering templates off the event loop. Each caller (a subscription) may keep
 * at most workers − 1 of them busy (one when there is one), and waiting items are served in
 * turns across callers. A worker whose render outlives its time budget is terminated: its item
 * fails with the time budget's error and the next item that needs a worker starts a new one.
 * A template that overran three times running is set aside (Quarantine) for quarantineMs.
 */
export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue = new FairQueue<Job>();
  private readonly running = new Map<string, number>();
  private readonly perCaller: number;
  private readonly graceMs: number;
  private readonly compileTimeoutMs: number;
  private readonly quarantine: Quarantine;
  private lastJobId = 0;
  private failedStarts = 0;
  private terminated = 0;
  private closed = false;

  constructor(private readonly options: RenderPoolOptions) {
    this.perCaller = Math.max(1, options.workers - 1);
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.compileTimeoutMs = options.compileTimeoutMs ?? DEFAULT_COMPILE_TIMEOUT_MS;
    this.quarantine = new Quarantine(options.quarantineMs ?? 0);
  }

  /** Workers running, workers terminated for overrunning, items waiting. */
  get stats(): { workers: number; terminated: number; waiting: number } {
    return { workers: this.slots.length, terminated: this.terminated, waiting: this.queue.size };
  }

  render(caller: string, run: TemplateRun): RenderTicket {
    if (this.closed) return { result: Promise.reject(new RenderPoolClosed()), cancel: () => {} };
    let settle!: Job['settle'];
    const result = new Promise<RenderResult>((resolve, reject) => {
      settle = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
    });
    const job: Job = { id: ++this.lastJobId, caller, run, settle, startedAt: 0 };
    if (!this.setAside(job)) {
      this.queue.push(caller, job);
      this.pump();
    }
    return { result, cancel: () => this.queue.remove(caller, job) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.drain()) job.settle(new RenderPoolClosed());
    await Promise.all(
      this.slots.map((slot) => {
        slot.stopping = 'closing';
        if (slot.timer) clearTimeout(slot.timer);
        return slot.worker.terminate();
      }),
    );
  }

  /** Hands waiting items to idle workers, and starts workers while items wait for one. */
  private pump(): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      if (!slot.ready || slot.job) continue;
      const job = this.nextJob();
      if (!job) break;
      this.dispatch(slot, job);
    }
    let starting = this.slots.filter((slot) => !slot.ready).length;
    while (this.slots.length < this.options.workers && this.queue.size > starting) {
      this.start();
      starting++;
    }
  }

  /** The next job in turn whose template is not set aside (those fail as they come up). */
  private nextJob(): Job | undefined {
    for (;;) {
      const job = this.queue.take((caller) => (this.running.get(caller) ?? 0) < this.perCaller);
      if (!job || !this.setAside(job)) return job;
    }
  }

  /** Fails the job at once if its template is set aside. */
  private setAside(job: Job): boolean {
    const until = this.quarantine.heldUntil(job.run.source);
    if (until === null) return false;
    job.settle({ outcome: failedConversion(setAsideText(until)), renderMs: 0 });
    return true;
  }

  /** Settles a job that ran, after noting how its template did. */
  private finish(job: Job, result: RenderResult): void {
    if (this.quarantine.record(job.run.source, result.outcome))
      this.warn('A template went over its time budget three times running: set aside', {
        caller: job.caller,
        until: new Date(this.quarantine.heldUntil(job.run.source)!).toISOString(),
      });
    job.settle(result);
  }

  private warn(message: string, context: Record<string, unknown>): void {
    this.options.warn?.(message, context);
  }

  private start(): void {
    const { limits, memoryMb } = this.options;
    const worker = startRenderWorker(
      { limits },
      { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(32, memoryMb / 4) },
    );
    // Rendering is never a reason to keep the process alive.
    worker.unref();
    const slot: Slot = {
      worker,
      ready: false,
      job: null,
      timer: null,
      stopping: null,
      error: null,
    };
    this.slots.push(slot);
    worker.on('message', (message: RenderWorkerMessage) => this.onMessage(slot, message));
    worker.on('error', (error) => (slot.error = error));
    worker.on('exit', () => this.onExit(slot));
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    this.running.set(job.caller, (this.running.get(job.caller) ?? 0) + 1);
    job.startedAt = performance.now();
    const request: RenderRequest = { taskId: job.id, ...job.run };
    try {
      slot.worker.postMessage(request);
    } catch (error) {
      this.release(slot);
      const message = error instanceof Error ? error.message : String(error);
      job.settle({ outcome: failedConversion(`the template failed: ${message}`), renderMs: 0 });
      return;
    }
    this.arm(slot, this.options.limits.maxMilliseconds + this.graceMs, 'over-time');
  }

  private arm(slot: Slot, ms: number, reason: StopReason): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.stopping = reason;
      void slot.worker.terminate();
    }, ms);
  }

  private release(slot: Slot): Job | null {
    const job = slot.job;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    if (job) {
      const left = (this.running.get(job.caller) ?? 1) - 1;
      if (left > 0) this.running.set(job.caller, left);
      else this.running.delete(job.caller);
    }
    return job;
  }

  private onMessage(slot: Slot, message: RenderWorkerMessage): void {
    if (slot.stopping) return;
    switch (message.kind) {
      case 'ready':
        slot.ready = true;
        this.failedStarts = 0;
        this.pump();
        return;
      case 'compiling':
        if (slot.job?.id === message.taskId) this.arm(slot, this.compileTimeoutMs, 'compile-time');
        return;
      case 'rendering':
        if (slot.job?.id !== message.taskId) return;
        slot.job.startedAt = performance.now();
        this.arm(slot, this.options.limits.maxMilliseconds + this.graceMs, 'over-time');
        return;
      case 'rendered': {
        if (slot.job?.id !== message.taskId) return;
        const job = this.release(slot)!;
        this.finish(job, { outcome: message.outcome, renderMs: message.renderMs });
        this.pump();
        return;
      }
      default: {
        const unknownMessage: never = message;
        throw new Error(`Unknown render worker message ${JSON.stringify(unknownMessage)}`);
      }
    }
  }

  private onExit(slot: Slot): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    const job = this.release(slot);
    if (slot.stopping === 'over-time' || slot.stopping === 'compile-time') {
      this.terminated++;
      this.warn('A template render outlived its budget: its worker was terminated', {
        caller: job?.caller,
        reason: slot.stopping,
      });
    } else if (slot.stopping === null && slot.ready)
      this.warn('A template render worker stopped', {
        caller: job?.caller,
        error: slot.error?.message ?? null,
      });
    if (job && slot.stopping === 'closing') job.settle(new RenderPoolClosed());
    else if (job)
      this.finish(job, {
        outcome: this.stoppedOutcome(slot),
        renderMs: performance.now() - job.startedAt,
      });
    if (!slot.ready && slot.stopping === null) this.failedToStart(slot);
    this.pump();
  }

  private stoppedOutcome(slot: Slot): RenderOutcome {
    switch (slot.stopping) {
      case 'over-time': {
        const budget = new TemplateBudgetError('time', this.options.limits.maxMilliseconds);
        return failedConversion(budget.message, 'time');
      }
      case 'compile-time':
        return failedConversion(
          `the template took more than ${this.compileTimeoutMs} ms to compile`,
          'time',
        );
      case 'closing':
      case null:
        return slot.error?.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? failedConversion('the template ran out of memory', 'memory')
          : failedConversion('the template could not be rendered: its worker stopped');
      default: {
        const unknownReason: never = slot.stopping;
        return unknownReason;
      }
    }
  }

  /** A worker that cannot start is a broken deployment: after a few tries, say so to callers. */
  private failedToStart(slot: Slot): void {
    if (++this.failedStarts < STARTUP_ATTEMPTS) return;
    this.failedStarts = 0;
    const reason = slot.error?.message ?? 'it exited';
    this.warn('The template render worker does not start', { error: reason });
    for (const job of this.queue.drain())
      job.settle(new Error(`The template render worker does not start: ${reason}`));
  }
}

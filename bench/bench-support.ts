import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { EventMetadata, EventToAppend } from '../src/event-store/event-store.port';

const started = performance.now();

/** A progress line on stderr, stamped with the seconds since the run started. */
export const progress = (message: string): void => {
  const at = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${at}s] ${message}\n`);
};

/** A whole-number setting from the environment, at least `min`; the fallback when unset. */
export const envInt = (name: string, fallback: number, min = 1): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${name} must be a whole number of at least ${min}`);
  return value;
};

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtRate = (n: number): string => fmtInt(n);
export const fmtMiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export const collectGarbage = (): void => {
  (globalThis as { gc?: () => void }).gc?.();
};

const BASE_TIME = Date.UTC(2026, 10, 22, 9, 0, 0);

/** The event payload used everywhere: a progress record of about 100 bytes of JSON. */
export interface ProgressPayload {
  learner: string;
  content: string;
  progress: number;
  at: string;
}

export const payload = (seq: number): ProgressPayload => ({
  learner: `learner-${String(seq % 100_000).padStart(5, '0')}`,
  content: `course-${String(seq % 997).padStart(3, '0')}/lesson-${String(seq % 31).padStart(2, '0')}`,
  progress: (seq % 101) / 100,
  at: new Date(BASE_TIME + (seq % 86_400) * 1000).toISOString(),
});

export const metadata = (): EventMetadata => ({
  correlationId: randomUUID(),
  principal: 'user:bench-runner',
  tenant: 'tenant-bench',
});

export const EVENT_TYPE = 'LearnerProgressRecorded';

let sequence = 0;

export const makeEvents = (count: number): EventToAppend[] => {
  const events = new Array<EventToAppend>(count);
  for (let i = 0; i < count; i++)
    events[i] = {
      id: randomUUID(),
      type: EVENT_TYPE,
      data: payload(sequence++),
      metadata: metadata(),
    };
  return events;
};

export interface Measured {
  events: number;
  seconds: number;
  rate: number;
  /** CPU this process used while measuring, in cores (1 = one core busy all the time). */
  nodeCores: number;
  /** CPU the whole machine used while measuring (PostgreSQL included), in cores; null off Linux. */
  machineCores: number | null;
}

interface CpuSample {
  at: number;
  node: NodeJS.CpuUsage;
  machine: { busy: number; total: number } | null;
}

/** Busy and total jiffies of all cores from /proc/stat, or null where there is none. */
const machineTicks = (): CpuSample['machine'] => {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [, user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
      (a, b) => a + (b ?? 0),
      0,
    );
    return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
  } catch {
    return null;
  }
};

export const sampleCpu = (): CpuSample => ({
  at: performance.now(),
  node: process.cpuUsage(),
  machine: machineTicks(),
});

/** Events over the time since `start`, with the CPU used meanwhile. */
export const measuredSince = (start: CpuSample, events: number): Measured => {
  const seconds = (performance.now() - start.at) / 1000;
  const node = process.cpuUsage(start.node);
  const machine = machineTicks();
  const cores = os.cpus().length;
  return {
    events,
    seconds,
    rate: events / seconds,
    nodeCores: (node.user + node.system) / 1e6 / seconds,
    machineCores:
      start.machine && machine && machine.total > start.machine.total
        ? ((machine.busy - start.machine.busy) / (machine.total - start.machine.total)) * cores
        : null,
  };
};

export const fmtCores = (cores: number | null): string => (cores === null ? '-' : cores.toFixed(2));

/**
 * Runs `writers` loops at once; each calls its step `opsPerWriter` times or until `capSeconds`
 * have passed, whichever comes first. A step returns how many events it wrote.
 */
export const drive = async (
  writers: number,
  opsPerWriter: number,
  capSeconds: number,
  stepFor: (writer: number) => () => Promise<number>,
): Promise<Measured> => {
  const steps = Array.from({ length: writers }, (_, w) => stepFor(w));
  const start = sampleCpu();
  const deadline = start.at + capSeconds * 1000;
  let events = 0;
  await Promise.all(
    steps.map(async (step) => {
      for (let i = 0; i < opsPerWriter && performance.now() < deadline; i++) {
        const written = await step();
        events += written;
      }
    }),
  );
  return measuredSince(start, events);
};

/** A plain-text table with right-aligned numeric columns. */
export const renderTable = (
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
};

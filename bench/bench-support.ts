import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EventMetadata, EventToAppend } from '../src/event-store/event-store.port';

const started = performance.now();

/** A progress line on stderr, stamped with the seconds since the run started. */
export const progress = (message: string): void => {
  const at = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${at}s] ${message}\n`);
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
}

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
  const start = performance.now();
  const deadline = start + capSeconds * 1000;
  let events = 0;
  await Promise.all(
    steps.map(async (step) => {
      for (let i = 0; i < opsPerWriter && performance.now() < deadline; i++) {
        const written = await step();
        events += written;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { events, seconds, rate: events / seconds };
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

import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { fmtInt, progress } from './bench-support';
import { percentile } from './hub-process';

/** Open-loop load and latency figures, shared by the HTTP benchmarks. */

export const sorted = (values: number[]): number[] => values.sort((a, b) => a - b);

export const ms = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(1));

/** p50 / p95 / p99 / max of sorted latencies, in ms. */
export const spread = (values: readonly number[]): string =>
  `${ms(percentile(values, 0.5))} / ${ms(percentile(values, 0.95))} / ${ms(percentile(values, 0.99))} / ${ms(values.at(-1) ?? Number.NaN)} ms`;

export const yesNo = (met: boolean): string => (met ? 'yes' : 'no');

export interface Schedule {
  sent: number;
  /** How late each send left against its timetable, sorted, in ms. */
  lateness: number[];
  /** From the first send to the last answer. */
  seconds: number;
  /** From the last send to the last answer. */
  drainSeconds: number;
}

/**
 * Calls `fire` `perSecond` times a second for `seconds` on a fixed timetable, whether or not
 * earlier calls have finished (open loop). `fire` must not reject.
 */
export const openLoop = async (
  perSecond: number,
  seconds: number,
  label: string,
  fire: (i: number) => Promise<void>,
): Promise<Schedule> => {
  const interval = 1000 / perSecond;
  const total = Math.round(seconds * perSecond);
  const lateness = new Array<number>(total);
  const pending: Promise<void>[] = [];
  const every = Math.max(1, Math.round(perSecond * 5));
  const started = performance.now();
  let lastSent = started;
  let lastDone = started;
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lastSent = performance.now();
    lateness[i] = Math.max(0, lastSent - due);
    pending.push(
      fire(i).then(() => {
        lastDone = performance.now();
      }),
    );
    if (i > 0 && i % every === 0) progress(`${label}: ${fmtInt(i)} requests sent`);
  }
  await Promise.all(pending);
  return {
    sent: total,
    lateness: sorted(lateness),
    seconds: (lastDone - started) / 1000,
    drainSeconds: Math.max(0, lastDone - lastSent) / 1000,
  };
};

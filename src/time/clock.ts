/** Where "now" comes from: injected, so deciders get time with the command and tests can steer it. */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => new Date() };

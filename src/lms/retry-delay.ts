/**
 * How long to wait before the next attempt: exponential from `baseMs`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so a burst of failures does not retry in lockstep. An
 * LMS that said when to come back (Retry-After) is asked again then.
 */
export const retryDelayMs = (
  attempt: number,
  retryAfterMs: number | null,
  policy: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number => {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
  return retryAfterMs ?? jittered;
};

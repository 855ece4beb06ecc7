/**
 * Retries `check` (an assertion block) until it passes or `timeoutMs` runs out, then rethrows its
 * last failure. For read models, which catch up with the event log a moment after a write.
 */
export const eventually = async <T>(
  check: () => Promise<T>,
  { timeoutMs = 5_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
};

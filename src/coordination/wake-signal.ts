/**
 * Wakes waiting subscriptions when new events may be readable. The generation counter closes
 * the race between "read found nothing" and "start waiting": a wake that lands in between
 * bumps the generation, and the wait returns at once.
 */
export class WakeSignal {
  private current = 0;
  private readonly waiters = new Set<() => void>();

  get generation(): number {
    return this.current;
  }

  notify(): void {
    this.current++;
    for (const waiter of [...this.waiters]) waiter();
  }

  wait(seenGeneration: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (seenGeneration !== this.current || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * Runs `work` over `items` with at most `limit` in flight; rejects with the first failure. Once
 * `signal` aborts no item is started, so a cancelled job stops after the ones in flight.
 */
export const runConcurrently = async <Item>(
  items: readonly Item[],
  limit: number,
  work: (item: Item, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Like mapLimit, but never rejects: failures are counted and the first few messages kept. */
export async function settleLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<{ results: (R | undefined)[]; failures: number; errors: Record<string, number> }> {
  let failures = 0;
  const errors: Record<string, number> = {};
  const results = await mapLimit(items, limit, (item, index) =>
    fn(item, index).catch((error: unknown) => {
      failures++;
      const message = error instanceof Error ? error.message : String(error);
      errors[message] = (errors[message] ?? 0) + 1;
      return undefined;
    }),
  );
  return { results, failures, errors };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

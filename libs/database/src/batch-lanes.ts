import { BatchQueue, Settled, tooManyWaiting } from './batch-queue';

/** The lane of a key among `lanes` (keys are integers; negative ones too). */
export function laneOf(key: number, lanes: number): number {
  return ((key % lanes) + lanes) % lanes;
}

/**
 * Group commit in several lanes: one BatchQueue per lane, each call going to the lane of its
 * key. The calls of one key always meet in the same lane, so they run one batch at a time and
 * in the order they came (BatchQueue's rule); a batch of one lane never waits for another
 * lane's, so up to `lanes` batches are in flight at once. `maxPending` bounds all lanes together
 * (waiting plus running), exactly as it bounds a single queue.
 */
export class BatchLanes<In, Out> {
  private readonly queues: BatchQueue<In, Out>[];

  constructor(
    runBatch: (inputs: In[]) => Promise<Settled<Out>[]>,
    maxBatch: number,
    lanes: number,
    private readonly keyOf: (input: In) => number,
    private readonly maxPending = Infinity,
  ) {
    if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`lanes must be a positive integer, got ${lanes}`);
    this.queues = Array.from({ length: lanes }, () => new BatchQueue<In, Out>(runBatch, maxBatch));
  }

  get lanes(): number {
    return this.queues.length;
  }

  /** Calls waiting or in a running batch, over all lanes. */
  get size(): number {
    return this.queues.reduce((n, q) => n + q.size, 0);
  }

  /** Resolves when no lane holds a call (for a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  push(input: In): Promise<Out> {
    if (this.size >= this.maxPending) return Promise.reject(tooManyWaiting());
    return this.queues[laneOf(this.keyOf(input), this.queues.length)].push(input);
  }
}

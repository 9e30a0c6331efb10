import { BatchQueue, settle, Settled, tooManyWaiting } from './batch-queue';

interface Call<In, Out> {
  input: In;
  key: number;
  resolve(value: Out): void;
  reject(error: unknown): void;
}

/**
 * Group commit with several batches in flight, never two holding the same key: a call waits only
 * while a call of its own key is in flight (or no lane is free), never behind another key's
 * commit. A new batch takes the waiting calls in arrival order, leaving out the keys still in
 * flight, so the calls of one key run one batch at a time and in the order they came (as one
 * BatchQueue would run them); up to `lanes` batches run at once. `maxPending` bounds the calls
 * held (waiting plus in flight, all lanes together) exactly as it bounds a BatchQueue.
 */
export class BatchLanes<In, Out> {
  private waiting: Call<In, Out>[] = [];
  private readonly inFlight = new Set<number>();
  private running = 0;
  private held = 0;

  constructor(
    /** Runs one batch; answers one result per input, in order. A throw fails the whole batch. */
    private readonly runBatch: (inputs: In[]) => Promise<Settled<Out>[]>,
    private readonly maxBatch: number,
    readonly lanes: number,
    private readonly keyOf: (input: In) => number,
    private readonly maxPending = Infinity,
  ) {
    if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`lanes must be a positive integer, got ${lanes}`);
    BatchQueue.track(this);
  }

  /** Calls waiting or in a running batch, over all lanes. */
  get size(): number {
    return this.waiting.length + this.held;
  }

  /** Batches running now. */
  get busy(): number {
    return this.running;
  }

  /** Resolves when no call is waiting or running (for a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  push(input: In): Promise<Out> {
    if (this.size >= this.maxPending) return Promise.reject(tooManyWaiting());
    const key = this.keyOf(input);
    const promise = new Promise<Out>((resolve, reject) => this.waiting.push({ input, key, resolve, reject }));
    // Every other waiting call is held by a busy lane or a key in flight (start's rule), so only
    // this one can start a batch: the list is not scanned for each call that has to wait.
    if (this.running < this.lanes && !this.inFlight.has(key)) this.start();
    return promise;
  }

  /** Starts batches while a lane is free and some waiting call's key is not in flight (after it, one of the two holds). */
  private start(): void {
    while (this.running < this.lanes && this.waiting.length) {
      const batch: Call<In, Out>[] = [];
      const rest: Call<In, Out>[] = [];
      const taken = new Set<number>();
      for (const call of this.waiting) {
        if (batch.length < this.maxBatch && !this.inFlight.has(call.key)) {
          batch.push(call);
          taken.add(call.key);
        } else {
          rest.push(call);
        }
      }
      if (!batch.length) return;
      // A key cut off by maxBatch keeps its later calls waiting (`rest` holds them in order) for the next batch.
      for (const key of taken) this.inFlight.add(key);
      this.waiting = rest;
      void this.run(batch, taken);
    }
  }

  private async run(batch: Call<In, Out>[], keys: Set<number>): Promise<void> {
    this.running++;
    this.held += batch.length;
    try {
      settle(batch, await this.runBatch(batch.map((c) => c.input)));
    } catch (err) {
      for (const c of batch) c.reject(err);
    } finally {
      this.running--;
      this.held -= batch.length;
      for (const key of keys) this.inFlight.delete(key);
      this.start();
    }
  }
}

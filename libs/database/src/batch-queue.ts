import { DatabaseUnavailableError } from './unavailable';

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Answers each call of a batch with its result (one per call, in order). */
export function settle<Out>(calls: { resolve(value: Out): void; reject(error: unknown): void }[], results: Settled<Out>[]): void {
  calls.forEach((call, i) => {
    const result = results[i];
    if (result.ok) call.resolve(result.value);
    else call.reject(result.error);
  });
}

/** The refusal of a call beyond a queue's bound (a 503). */
export function tooManyWaiting(): DatabaseUnavailableError {
  return new DatabaseUnavailableError('Too many writes waiting for the database');
}

export interface BatchQueueOptions {
  /**
   * An idle queue starts its batch at the end of this turn of the event loop (setImmediate)
   * rather than at once with the first call: the calls of one turn (the requests read
   * together) then share the first batch instead of the first going alone.
   */
  gatherTurn?: boolean;
  /**
   * Batches start at most once per this many milliseconds (a full batch of maxBatch at once;
   * a call after a quiet spell at once): for work whose fixed cost per batch is worth a short
   * wait, such as a statement's planning (the webhook dispatcher's answers).
   */
  minIntervalMs?: number;
}

/**
 * Group commit for any kind of work: calls that arrive while a batch is running wait and go
 * together into the next one, so a busy system pays one round trip and one commit per batch
 * rather than per call, and an idle one runs each call at once. One batch runs at a time.
 */
export class BatchQueue<In, Out> {
  /** Every queue of the process (BatchLanes too), so a graceful shutdown can wait for all of them (they are singletons). */
  private static readonly live = new Set<{ readonly size: number }>();

  /** Counts `queue` among the queues a graceful shutdown waits for (allIdle). */
  static track(queue: { readonly size: number }): void {
    BatchQueue.live.add(queue);
  }

  /** Resolves when no queue of the process holds a call, or after `timeoutMs`; answers whether all drained. */
  static async allIdle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ([...BatchQueue.live].some((q) => q.size > 0)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  private pending: { input: In; resolve(value: Out): void; reject(error: unknown): void }[] = [];
  private running = false;
  private gathering = false;
  private inBatch = 0;
  private readonly gatherTurn: boolean;
  private readonly minIntervalMs: number;
  private lastStartAt = -Infinity;
  private spacing: NodeJS.Timeout | null = null;
  private unspaced = false;

  constructor(
    /** Runs one batch; answers one result per input, in order. A throw fails the whole batch. */
    private readonly runBatch: (inputs: In[]) => Promise<Settled<Out>[]>,
    private readonly maxBatch: number,
    /**
     * The most calls held at once (waiting plus in the running batch). Beyond it a call is
     * refused at once with a 503, so memory stays bounded however long the database takes.
     */
    private readonly maxPending = Infinity,
    options: BatchQueueOptions = {},
  ) {
    this.gatherTurn = options.gatherTurn ?? false;
    this.minIntervalMs = options.minIntervalMs ?? 0;
    BatchQueue.track(this);
  }

  /** From now on batches start without waiting for minIntervalMs, the waiting calls' at once (for a shutdown). */
  unspace(): void {
    this.unspaced = true;
    this.startSoon();
  }

  /** Calls waiting or in the running batch. */
  get size(): number {
    return this.pending.length + this.inBatch;
  }

  /** Resolves when nothing is waiting or running (for a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  push(input: In): Promise<Out> {
    return this.pushAll([input])[0];
  }

  /**
   * Queues calls together: an idle queue takes them in one batch (up to `maxBatch`), where
   * pushing them one by one would start a batch with the first alone. One promise per call, in
   * order; a call beyond `maxPending` is refused on its own.
   */
  pushAll(inputs: In[]): Promise<Out>[] {
    const promises = inputs.map((input) => {
      if (this.size >= this.maxPending) return Promise.reject(tooManyWaiting());
      return new Promise<Out>((resolve, reject) => this.pending.push({ input, resolve, reject }));
    });
    if (!this.running && this.pending.length) {
      if (!this.gatherTurn) this.startSoon();
      else if (!this.gathering) {
        this.gathering = true;
        setImmediate(() => {
          this.gathering = false;
          this.startSoon();
        });
      }
    }
    return promises;
  }

  /** How long the next batch must still wait for minIntervalMs (0: it may start now). */
  private spacingLeft(): number {
    if (this.unspaced || this.pending.length >= this.maxBatch) return 0;
    return Math.max(0, this.lastStartAt + this.minIntervalMs - Date.now());
  }

  /** Starts a batch now if none runs, or once minIntervalMs allows. */
  private startSoon(): void {
    if (this.running || !this.pending.length) return;
    const wait = this.spacingLeft();
    if (wait > 0) {
      this.spacing ??= setTimeout(() => {
        this.spacing = null;
        this.startSoon();
      }, wait);
      return;
    }
    if (this.spacing) clearTimeout(this.spacing);
    this.spacing = null;
    void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length && this.spacingLeft() === 0) {
        this.lastStartAt = Date.now();
        const batch = this.pending.splice(0, this.maxBatch);
        this.inBatch = batch.length;
        try {
          settle(batch, await this.runBatch(batch.map((p) => p.input)));
        } catch (err) {
          for (const p of batch) p.reject(err);
        } finally {
          this.inBatch = 0;
        }
      }
    } finally {
      this.running = false;
    }
    this.startSoon();
  }
}

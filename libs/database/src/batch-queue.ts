export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Group commit for any kind of work: calls that arrive while a batch is running wait and go
 * together into the next one, so a busy system pays one round trip and one commit per batch
 * rather than per call, and an idle one runs each call at once. One batch runs at a time.
 */
export class BatchQueue<In, Out> {
  private pending: { input: In; resolve(value: Out): void; reject(error: unknown): void }[] = [];
  private running = false;

  constructor(
    /** Runs one batch; answers one result per input, in order. A throw fails the whole batch. */
    private readonly runBatch: (inputs: In[]) => Promise<Settled<Out>[]>,
    private readonly maxBatch: number,
  ) {}

  push(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.runBatch(batch.map((p) => p.input));
          batch.forEach((p, i) => {
            const result = results[i];
            if (result.ok) p.resolve(result.value);
            else p.reject(result.error);
          });
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

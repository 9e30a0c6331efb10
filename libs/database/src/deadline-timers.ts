/**
 * Deadlines that live in the database (a wrap-up's end, an offer's expiry), ended on time: a timer
 * per key scheduled on this instance, plus a periodic sweep that ends whatever a restart or another
 * instance missed. `end(key)` (or `end()` for every expired one) must be one conditional
 * statement, so exactly one run of any instance ends each deadline.
 */
export class DeadlineTimers {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private stoppedFlag = false;

  constructor(
    private readonly end: (key?: number) => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  startSweep(periodMs: number): void {
    this.sweepTimer = setInterval(() => this.track(() => this.end()), periodMs);
    this.sweepTimer.unref();
  }

  schedule(key: number, at: Date): void {
    if (this.stoppedFlag) return;
    this.cancel(key);
    // A little late rather than early: the database clock decides, and an early run finds nothing.
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.track(() => this.end(key));
      },
      Math.max(0, at.getTime() - Date.now()) + 25,
    );
    timer.unref();
    this.timers.set(key, timer);
  }

  cancel(key: number): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** No new runs; waits for the ones under way (call before the pool closes). */
  async stop(): Promise<void> {
    this.stoppedFlag = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private track(work: () => Promise<unknown>): void {
    if (this.stoppedFlag) return;
    const promise = work()
      .catch(this.onError)
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }
}

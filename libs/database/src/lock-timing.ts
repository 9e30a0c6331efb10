import { Histogram } from 'prom-client';

/**
 * How long each transaction held the allocation lock: from acquiring it to the end of its
 * commit. One lock per cluster, so 1 / (mean hold) is the highest decision rate the cluster can
 * reach; the bench (phase `agents`) reads it from /metrics. Not registered anywhere here: the
 * app's metrics registry adds it.
 */
export const allocationLockHoldSeconds = new Histogram({
  name: 'cc_allocation_lock_hold_seconds',
  help: 'Time a transaction held the cluster-wide allocation lock (acquired to committed)',
  labelNames: ['decisions'],
  buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1],
  registers: [],
});

/** Runs `work` (which takes the lock first, then calls `held()`), recording the hold time once it settles. */
export async function timedLockHold<T>(decisions: number, work: (held: () => void) => Promise<T>): Promise<T> {
  let heldAt = 0;
  try {
    return await work(() => (heldAt = performance.now()));
  } finally {
    if (heldAt) allocationLockHoldSeconds.observe({ decisions: decisions > 1 ? 'batch' : 'one' }, (performance.now() - heldAt) / 1000);
  }
}

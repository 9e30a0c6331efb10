import { performance } from 'perf_hooks';
import { setImmediate as nextTurn } from 'timers/promises';

/**
 * Hands `items` to `each` in slices of at most `perTurn`, in order, one slice per turn of the
 * event loop: the I/O that arrived meanwhile (other sockets' events, their database answers and
 * acks) runs between two slices instead of waiting behind the whole list. A slice's work may be
 * asynchronous: the next slice starts once it is done.
 */
export async function slicesInTurns<T>(items: readonly T[], perTurn: number, each: (slice: readonly T[]) => void | Promise<void>): Promise<void> {
  if (perTurn < 1) throw new RangeError(`perTurn must be at least 1 (got ${perTurn})`);
  for (let start = 0; start < items.length; start += perTurn) {
    if (start > 0) await nextTurn();
    await each(items.slice(start, start + perTurn));
  }
}

/** How much of the list one turn of the event loop may take. */
export interface TurnBound {
  /** At most this many items per turn. */
  perTurn: number;
  /**
   * And no more once this much time has gone by in the turn (checked after each item, so a turn
   * always takes at least one): on a machine short of CPU a count alone let one turn stretch to
   * tens of milliseconds, and every ack waited behind it.
   */
  budgetMs: number;
  /**
   * The whole list should be done within this long: a turn that begins behind that schedule
   * (less of the list done than of this time gone) ignores `budgetMs` and takes its `perTurn`,
   * so that time-bounded turns never stretch the list's wall time on a machine short of CPU.
   */
  finishWithinMs?: number;
  /** Milliseconds, monotonic (tests give their own clock). */
  clock?: () => number;
}

/**
 * Calls `each` on every item in order, in turns of the event loop bounded by count and by time
 * (TurnBound), the time bound given up while behind schedule; answers the number of turns taken.
 */
export async function inTurns<T>(items: readonly T[], bound: number | TurnBound, each: (item: T) => void): Promise<number> {
  const { perTurn, budgetMs, finishWithinMs = Infinity, clock = () => performance.now() } = typeof bound === 'number' ? { perTurn: bound, budgetMs: Infinity } : bound;
  if (perTurn < 1) throw new RangeError(`perTurn must be at least 1 (got ${perTurn})`);
  if (!(budgetMs > 0)) throw new RangeError(`budgetMs must be positive (got ${budgetMs})`);
  const begun = clock();
  let turns = 0;
  let next = 0;
  while (next < items.length) {
    if (turns++ > 0) await nextTurn();
    const started = clock();
    const behind = started - begun > (next / items.length) * finishWithinMs;
    const budget = behind ? Infinity : budgetMs;
    const end = Math.min(items.length, next + perTurn);
    do each(items[next++]);
    while (next < end && clock() - started < budget);
  }
  return turns;
}

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

/** Calls `each` on every item in order, at most `perTurn` of them per turn of the event loop (slicesInTurns). */
export function inTurns<T>(items: readonly T[], perTurn: number, each: (item: T) => void): Promise<void> {
  return slicesInTurns(items, perTurn, (slice) => slice.forEach((item) => each(item)));
}

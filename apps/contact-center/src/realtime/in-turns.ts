import { setImmediate as nextTurn } from 'timers/promises';

/**
 * Calls `each` on every item in order, at most `perTurn` of them per turn of the event loop: the
 * I/O that arrived meanwhile (other sockets' events, their database answers and acks) runs between
 * two slices instead of waiting behind the whole list.
 */
export async function inTurns<T>(items: readonly T[], perTurn: number, each: (item: T) => void): Promise<void> {
  if (perTurn < 1) throw new RangeError(`perTurn must be at least 1 (got ${perTurn})`);
  for (let start = 0; start < items.length; start += perTurn) {
    if (start > 0) await nextTurn();
    const end = Math.min(items.length, start + perTurn);
    for (let i = start; i < end; i++) each(items[i]);
  }
}

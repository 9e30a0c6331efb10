/**
 * The order of a queue's waiting line, written once: earliest `waiting_since` first, ties by id
 * (requeued conversations keep their original wait, so they keep their place). The SQL forms
 * below and `compareWaiting` are the same rule; `waiting-line.spec.ts` runs both on the same rows.
 */
export interface WaitingFacts {
  id: number;
  waitingSince: Date;
}

export function compareWaiting(a: WaitingFacts, b: WaitingFacts): number {
  return a.waitingSince.getTime() - b.waitingSince.getTime() || a.id - b.id;
}

/** `ORDER BY` terms of the line, for conversations aliased `c`. */
export function waitingOrderSql(c: string): string {
  return `${c}.waiting_since, ${c}.id`;
}

/** True when conversation `w` stands at or before `c` in the line (same queue assumed); counting these gives `c`'s position. */
export function waitsNotAfterSql(w: string, c: string): string {
  return `(${w}.waiting_since, ${w}.id) <= (${c}.waiting_since, ${c}.id)`;
}

/** True when `w` stands strictly before `c`. */
export function waitsBeforeSql(w: string, c: string): string {
  return `(${w}.waiting_since, ${w}.id) < (${c}.waiting_since, ${c}.id)`;
}

/**
 * The waiting line: each queued conversation's 1-based place in its queue (beside `columns` of
 * its row). `queueFilter` may narrow the queues, never the rows within a queue.
 */
export function waitingLineSql(queueFilter = 'true', columns = 'id, queue_id'): string {
  return `
  SELECT ${columns}, row_number() OVER (PARTITION BY queue_id ORDER BY ${waitingOrderSql('conversations')})::int AS position
  FROM conversations WHERE status = 'queued' AND waiting_since IS NOT NULL AND (${queueFilter})`;
}

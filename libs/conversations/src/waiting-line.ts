/**
 * The order of a queue's waiting line, written once: earliest `waiting_since` first, ties by id
 * (requeued conversations keep their original wait, so they keep their place). The line holds the
 * queued conversations that joined it and the offered ones: an offer leaves its customer's view
 * unchanged until the agent accepts (API.md section 11), so an offered conversation keeps its
 * place, by the wait it keeps (its start, when it was offered without waiting), and those behind
 * it stay behind it. The SQL forms below and `placeInLine` + `compareWaiting` are the same rule;
 * `test/rules.spec.ts` runs both on the same rows.
 */
export interface WaitingFacts {
  id: number;
  waitingSince: Date;
}

export function compareWaiting(a: WaitingFacts, b: WaitingFacts): number {
  return a.waitingSince.getTime() - b.waitingSince.getTime() || a.id - b.id;
}

/** Where a conversation stands in its line, or null when it is not in it. */
export function placeInLine(c: { id: number; status: string; waitingSince: Date | null; createdAt: Date }): WaitingFacts | null {
  if (c.status === 'queued') return c.waitingSince ? { id: c.id, waitingSince: c.waitingSince } : null;
  if (c.status === 'offered') return { id: c.id, waitingSince: c.waitingSince ?? c.createdAt };
  return null;
}

/** The wait an offered conversation `c` keeps in the line (placeInLine). */
export function keptWaitSql(c: string): string {
  return `coalesce(${c}.waiting_since, ${c}.created_at)`;
}

/** `ORDER BY` terms of the line, for queued conversations aliased `c`. */
export function waitingOrderSql(c: string): string {
  return `${c}.waiting_since, ${c}.id`;
}

/** True when queued conversation `w` stands strictly before the place (`since`, `id`). */
export function waitsBeforeSql(w: string, since: string, id: string): string {
  return `(${w}.waiting_since, ${w}.id) < (${since}, ${id})`;
}

/**
 * How many conversations stand before the place (`since`, `id`) in line `queueId` (SQL
 * expressions): queued ones on the waiting-line index, plus the (few) offered ones.
 */
export function aheadInLineSql(queueId: string, since: string, id: string): string {
  return `((SELECT count(*)::int FROM conversations w
            WHERE w.status = 'queued' AND w.queue_id = ${queueId} AND ${waitsBeforeSql('w', since, id)})
         + (SELECT count(*)::int FROM conversations o
            WHERE o.status = 'offered' AND o.queue_id = ${queueId} AND (${keptWaitSql('o')}, o.id) < (${since}, ${id})))`;
}

/**
 * The waiting line: the 1-based place of each conversation in it (queued and offered, see above).
 * `queueFilter` may narrow the queues, never the rows within a queue.
 */
export function waitingLineSql(queueFilter = 'true'): string {
  return `
  SELECT id, queue_id, row_number() OVER (PARTITION BY queue_id ORDER BY since, id)::int AS position
  FROM (SELECT id, queue_id, waiting_since AS since FROM conversations
        WHERE status = 'queued' AND waiting_since IS NOT NULL AND (${queueFilter})
        UNION ALL
        SELECT id, queue_id, ${keptWaitSql('conversations')} FROM conversations WHERE status = 'offered' AND (${queueFilter})) line`;
}

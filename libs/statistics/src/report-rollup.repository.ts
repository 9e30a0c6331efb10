import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/** The rollup's slot: today every IANA zone's offset is a multiple of 15 minutes, so hour and day buckets are unions of slots (checked per report). */
export const SLOT_MS = 15 * 60_000;

const EPOCH = `timestamptz '1970-01-01 00:00:00+00'`;
const slotOf = (column: string) => `date_bin('15 minutes', ${column}, ${EPOCH})`;
/** A duration in whole microseconds (timestamps have microseconds), so sums over slots equal sums over the rows. */
export const MICROSECONDS = (a: string, b: string) => `(extract(epoch FROM ${a} - ${b}) * 1000000)::bigint`;
/** The service-level test of one conversation, with the queue's current target (60 for a queue deleted since). */
export const IN_SLA = (c: string, q: string) => `${c}.first_assigned_at - ${c}.created_at <= coalesce(${q}.sla_seconds, 60) * interval '1 second'`;

/** How far the slots go: the events before `at` of the conversations with id up to `id` resolved before `at`. */
export interface Watermark {
  at: Date | null;
  id: number;
}

/**
 * The rollup of the conversation report (docs/statistics.md, "Rollup"). The slots hold, per
 * 15-minute slot and queue, the measures of every event (start, first assignment, resolution,
 * first response, transfer) earlier than the watermark's time of every conversation up to the
 * watermark's id resolved before its time. A resolved conversation's queue and times do not change, so those rows are final;
 * whatever else (open conversations, events at or after the watermark) the report reads raw.
 */
@Injectable()
export class ReportRollupRepository {
  /** The watermark (`at` null: nothing rolled up yet), locked for the caller's transaction when `lock`. */
  async watermark(manager: EntityManager, lock = false): Promise<Watermark> {
    const [row]: { at: Date | null; id: number }[] = await manager.query(
      `SELECT CASE WHEN rolled_until = '-infinity' THEN NULL ELSE rolled_until END AS at, rolled_id AS id
       FROM conversation_report_watermark${lock ? ' FOR UPDATE' : ''}`,
    );
    return { at: row?.at ? new Date(row.at) : null, id: row?.id ?? 0 };
  }

  /**
   * How far the rollup may go now (the caller holds the watermark row). The time: before every
   * transaction still open on this database (its `now()`, which stamps what it writes, is its
   * start) and `marginSeconds` ago (for sessions of other roles, whose start we cannot see), at most
   * `chunkDays` past `current`, on a whole minute. The id: the highest conversation id seen by an
   * earlier step, once every transaction open at that step has ended (none can still commit a
   * lower id); this step's highest id becomes the next candidate. Must run as its own statement
   * before the rollup's statements, which then see every commit of the transactions that were open.
   */
  async nextWatermark(manager: EntityManager, current: Watermark, marginSeconds: number, chunkDays: number): Promise<Watermark> {
    const [row]: { at: Date | null; id: number }[] = await manager.query(
      `WITH open AS (
         SELECT min(xact_start) AS since FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL
       ), w AS (SELECT * FROM conversation_report_watermark), next AS (
         SELECT date_bin('1 minute', least(
                  now() - $2::int * interval '1 second',
                  open.since,
                  coalesce($1::timestamptz, (SELECT min(resolved_at) FROM conversations WHERE resolved_at IS NOT NULL)) + $3::int * interval '1 day'
                ), ${EPOCH}) AS at,
                CASE WHEN w.candidate_at IS NOT NULL AND (open.since IS NULL OR open.since > w.candidate_at) THEN greatest(w.rolled_id, w.candidate_id)
                     ELSE w.rolled_id END AS id
         FROM open, w
       ), candidate AS (
         UPDATE conversation_report_watermark SET candidate_id = (SELECT coalesce(max(id), 0) FROM conversations), candidate_at = clock_timestamp()
       )
       SELECT at, id FROM next`,
      [current.at, marginSeconds, chunkDays],
    );
    return { at: row?.at ? new Date(row.at) : null, id: row?.id ?? current.id };
  }

  /**
   * Adds to the slots what moves from raw to rolled when the watermark goes from `lo` to `hi`.
   * Rolled up to a watermark: the events before its time of the conversations up to its id
   * resolved before its time.
   */
  async rollUp(manager: EntityManager, lo: Watermark, hi: { at: Date; id: number }): Promise<void> {
    // Newly rolled: the conversations newly inside the watermark, with their events before hi; and
    // the late events in [lo, hi) of conversations rolled before (a first reply after the resolution).
    const increment = (column: string) =>
      `SELECT c.* FROM fresh c WHERE ${column} < $2
       UNION ALL SELECT c.* FROM conversations c WHERE ${column} >= $1 AND ${column} < $2 AND c.resolved_at < $1 AND c.id <= $3`;
    const zeros: Record<string, string> = {
      started: '0',
      assigned: '0',
      wait_us: '0::bigint',
      wait_max_us: 'NULL::bigint',
      in_sla: '0',
      sla_seconds: 'NULL::int',
      resolved: '0',
      abandoned: '0',
      handle_us: '0::bigint',
      handled: '0',
      response_us: '0::bigint',
      responded: '0',
      transferred: '0',
    };
    const select = (slot: string, values: Record<string, string>) =>
      `SELECT ${slot} AS slot, c.queue_id, ${Object.keys(zeros).map((k) => `${values[k] ?? zeros[k]} AS ${k}`).join(', ')}`;
    const wait = MICROSECONDS('c.first_assigned_at', 'c.created_at');
    const sums = `sum(started)::int AS started, sum(assigned)::int AS assigned, sum(wait_us)::bigint AS wait_us, max(wait_max_us) AS wait_max_us,
                  sum(in_sla)::int AS in_sla, sum(resolved)::int AS resolved, sum(abandoned)::int AS abandoned, sum(handle_us)::bigint AS handle_us,
                  sum(handled)::int AS handled, sum(response_us)::bigint AS response_us, sum(responded)::int AS responded, sum(transferred)::int AS transferred`;
    const addTo = (table: string) => `
         started = ${table}.started + EXCLUDED.started, assigned = ${table}.assigned + EXCLUDED.assigned,
         wait_us = ${table}.wait_us + EXCLUDED.wait_us, wait_max_us = greatest(${table}.wait_max_us, EXCLUDED.wait_max_us),
         in_sla = ${table}.in_sla + EXCLUDED.in_sla, resolved = ${table}.resolved + EXCLUDED.resolved, abandoned = ${table}.abandoned + EXCLUDED.abandoned,
         handle_us = ${table}.handle_us + EXCLUDED.handle_us, handled = ${table}.handled + EXCLUDED.handled,
         response_us = ${table}.response_us + EXCLUDED.response_us, responded = ${table}.responded + EXCLUDED.responded,
         transferred = ${table}.transferred + EXCLUDED.transferred`;
    const columns = 'started, assigned, wait_us, wait_max_us, in_sla, resolved, abandoned, handle_us, handled, response_us, responded, transferred';
    await manager.query(
      `WITH fresh AS MATERIALIZED (
         SELECT * FROM conversations c WHERE c.id <= $3 AND c.resolved_at >= coalesce($1::timestamptz, '-infinity') AND c.resolved_at < $2
         UNION ALL
         SELECT * FROM conversations c WHERE c.id > $3 AND c.id <= $4 AND c.resolved_at < $2
       ), events AS (
         ${select(slotOf('c.created_at'), { started: '1' })} FROM (${increment('c.created_at')}) c
         UNION ALL
         ${select(slotOf('c.first_assigned_at'), {
           assigned: '1',
           wait_us: wait,
           wait_max_us: wait,
           in_sla: `CASE WHEN ${IN_SLA('c', 'q')} THEN 1 ELSE 0 END`,
           sla_seconds: 'coalesce(q.sla_seconds, 60)',
         })} FROM (${increment('c.first_assigned_at')}) c LEFT JOIN queues q ON q.id = c.queue_id
         UNION ALL
         ${select(slotOf('c.resolved_at'), {
           resolved: '1',
           abandoned: 'CASE WHEN c.first_assigned_at IS NULL THEN 1 ELSE 0 END',
           handle_us: `coalesce(${MICROSECONDS('c.resolved_at', 'c.first_assigned_at')}, 0)`,
           handled: 'CASE WHEN c.first_assigned_at IS NULL THEN 0 ELSE 1 END',
         })} FROM (${increment('c.resolved_at')}) c
         UNION ALL
         ${select(slotOf('c.first_response_at'), { responded: '1', response_us: MICROSECONDS('c.first_response_at', 'c.first_assigned_at') })}
         FROM (${increment('c.first_response_at')}) c
         UNION ALL
         ${select(slotOf('t.at'), { transferred: '1' })} FROM conversation_transfers t JOIN fresh c ON c.id = t.conversation_id WHERE t.at < $2
         UNION ALL
         ${select(slotOf('t.at'), { transferred: '1' })} FROM conversation_transfers t JOIN conversations c ON c.id = t.conversation_id
         WHERE t.at >= $1 AND t.at < $2 AND c.resolved_at < $1 AND c.id <= $3
       ), by_queue AS MATERIALIZED (
         SELECT slot, queue_id, ${sums}, max(sla_seconds) AS sla_seconds FROM events GROUP BY slot, queue_id
       ), queue_slots AS (
         INSERT INTO conversation_report_slots AS s (slot, queue_id, ${columns})
         SELECT slot, queue_id, ${columns} FROM by_queue
         ON CONFLICT (queue_id, slot) DO UPDATE SET ${addTo('s')}
       ), totals AS (
         INSERT INTO conversation_report_totals AS s (slot, ${columns})
         SELECT slot, ${sums} FROM by_queue GROUP BY slot
         ON CONFLICT (slot) DO UPDATE SET ${addTo('s')}
       )
       INSERT INTO conversation_report_queues AS r (queue_id, sla_seconds)
       SELECT queue_id, max(sla_seconds) FROM by_queue WHERE assigned > 0 GROUP BY queue_id
       -- Counted with two different targets (changed in between): NULL, recounted by recountServiceLevel.
       ON CONFLICT (queue_id) DO UPDATE SET sla_seconds = CASE WHEN r.sla_seconds = EXCLUDED.sla_seconds THEN r.sla_seconds END`,
      [lo.at, hi.at, lo.id, hi.id],
    );
  }

  async setWatermark(manager: EntityManager, w: { at: Date; id: number }): Promise<void> {
    await manager.query(`UPDATE conversation_report_watermark SET rolled_until = $1, rolled_id = $2`, [w.at, w.id]);
  }

  /** Empties the rollup (the report reads raw rows until the job has rolled up again). */
  async reset(manager: EntityManager): Promise<void> {
    await manager.query(`DELETE FROM conversation_report_slots`);
    await manager.query(`DELETE FROM conversation_report_totals`);
    await manager.query(`DELETE FROM conversation_report_queues`);
    await manager.query(`UPDATE conversation_report_watermark SET rolled_until = '-infinity', rolled_id = 0, candidate_id = NULL, candidate_at = NULL`);
  }

  /**
   * Recounts `in_sla` of the slots of one queue counted with another target than its current
   * `slaSeconds` (changed since, or the queue deleted: 60), up to the watermark `w`, in the queue's
   * slots and in the totals. Answers whether there was one.
   */
  async recountServiceLevel(manager: EntityManager, w: { at: Date; id: number }): Promise<boolean> {
    const [stale]: { queue_id: number; sla: number }[] = await manager.query(
      `SELECT r.queue_id, coalesce(q.sla_seconds, 60) AS sla FROM conversation_report_queues r LEFT JOIN queues q ON q.id = r.queue_id
       WHERE r.sla_seconds IS DISTINCT FROM coalesce(q.sla_seconds, 60) ORDER BY r.queue_id LIMIT 1 FOR UPDATE OF r`,
    );
    if (!stale) return false;
    await manager.query(
      `WITH counted AS (
         SELECT ${slotOf('c.first_assigned_at')} AS slot, count(*) FILTER (WHERE c.first_assigned_at - c.created_at <= $4::int * interval '1 second')::int AS in_sla
         FROM conversations c
         WHERE c.queue_id = $3 AND c.first_assigned_at < $1 AND c.resolved_at < $1 AND c.id <= $2 GROUP BY 1
       ), changed AS (
         UPDATE conversation_report_slots s SET in_sla = coalesce(n.in_sla, 0)
         FROM conversation_report_slots o LEFT JOIN counted n ON n.slot = o.slot
         WHERE o.queue_id = $3 AND o.assigned > 0 AND s.queue_id = o.queue_id AND s.slot = o.slot AND o.in_sla IS DISTINCT FROM coalesce(n.in_sla, 0)
         RETURNING s.slot, s.in_sla - o.in_sla AS delta
       ), totals AS (
         UPDATE conversation_report_totals t SET in_sla = t.in_sla + d.delta FROM changed d WHERE t.slot = d.slot
       )
       UPDATE conversation_report_queues SET sla_seconds = $4 WHERE queue_id = $3`,
      [w.at, w.id, stale.queue_id, stale.sla],
    );
    return true;
  }
}

import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/** The rollup's slot: every IANA zone's offset (since 1972) is a multiple of 15 minutes, so hour and day buckets are unions of slots. */
export const SLOT_MS = 15 * 60_000;

const EPOCH = `timestamptz '1970-01-01 00:00:00+00'`;
const slotOf = (column: string) => `date_bin('15 minutes', ${column}, ${EPOCH})`;
/** Exact seconds (numeric), so sums over slots equal sums over the rows. */
export const EXACT_SECONDS = (a: string, b: string) => `extract(epoch FROM ${a} - ${b})`;
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
    const zeros = {
      started: '0',
      assigned: '0',
      wait_sum: '0::numeric',
      wait_max: 'NULL::numeric',
      in_sla: '0',
      sla_seconds: 'NULL::int',
      resolved: '0',
      abandoned: '0',
      handle_sum: '0::numeric',
      handled: '0',
      response_sum: '0::numeric',
      responded: '0',
      transferred: '0',
    };
    const columns = Object.keys(zeros);
    const select = (slot: string, values: Partial<typeof zeros>) =>
      `SELECT ${slot} AS slot, c.queue_id, ${columns.map((k) => `${(values as Record<string, string>)[k] ?? (zeros as Record<string, string>)[k]} AS ${k}`).join(', ')}`;
    const wait = EXACT_SECONDS('c.first_assigned_at', 'c.created_at');
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
           wait_sum: wait,
           wait_max: wait,
           in_sla: `CASE WHEN ${IN_SLA('c', 'q')} THEN 1 ELSE 0 END`,
           sla_seconds: 'coalesce(q.sla_seconds, 60)',
         })} FROM (${increment('c.first_assigned_at')}) c LEFT JOIN queues q ON q.id = c.queue_id
         UNION ALL
         ${select(slotOf('c.resolved_at'), {
           resolved: '1',
           abandoned: 'CASE WHEN c.first_assigned_at IS NULL THEN 1 ELSE 0 END',
           handle_sum: `coalesce(${EXACT_SECONDS('c.resolved_at', 'c.first_assigned_at')}, 0)`,
           handled: 'CASE WHEN c.first_assigned_at IS NULL THEN 0 ELSE 1 END',
         })} FROM (${increment('c.resolved_at')}) c
         UNION ALL
         ${select(slotOf('c.first_response_at'), { responded: '1', response_sum: EXACT_SECONDS('c.first_response_at', 'c.first_assigned_at') })}
         FROM (${increment('c.first_response_at')}) c
         UNION ALL
         ${select(slotOf('t.at'), { transferred: '1' })} FROM conversation_transfers t JOIN fresh c ON c.id = t.conversation_id WHERE t.at < $2
         UNION ALL
         ${select(slotOf('t.at'), { transferred: '1' })} FROM conversation_transfers t JOIN conversations c ON c.id = t.conversation_id
         WHERE t.at >= $1 AND t.at < $2 AND c.resolved_at < $1 AND c.id <= $3
       )
       INSERT INTO conversation_report_slots AS s (slot, queue_id, ${columns.join(', ')})
       SELECT slot, queue_id, sum(started)::int, sum(assigned)::int, sum(wait_sum), max(wait_max), sum(in_sla)::int, max(sla_seconds),
              sum(resolved)::int, sum(abandoned)::int, sum(handle_sum), sum(handled)::int, sum(response_sum), sum(responded)::int, sum(transferred)::int
       FROM events GROUP BY slot, queue_id
       ON CONFLICT (slot, queue_id) DO UPDATE SET
         started = s.started + EXCLUDED.started, assigned = s.assigned + EXCLUDED.assigned,
         wait_sum = s.wait_sum + EXCLUDED.wait_sum, wait_max = greatest(s.wait_max, EXCLUDED.wait_max),
         in_sla = s.in_sla + EXCLUDED.in_sla,
         -- Counted with two different targets (changed in between): NULL, recounted by refreshServiceLevel.
         sla_seconds = CASE WHEN s.assigned = 0 THEN EXCLUDED.sla_seconds WHEN EXCLUDED.assigned = 0 THEN s.sla_seconds
                            WHEN s.sla_seconds = EXCLUDED.sla_seconds THEN s.sla_seconds END,
         resolved = s.resolved + EXCLUDED.resolved, abandoned = s.abandoned + EXCLUDED.abandoned,
         handle_sum = s.handle_sum + EXCLUDED.handle_sum, handled = s.handled + EXCLUDED.handled,
         response_sum = s.response_sum + EXCLUDED.response_sum, responded = s.responded + EXCLUDED.responded,
         transferred = s.transferred + EXCLUDED.transferred`,
      [lo.at, hi.at, lo.id, hi.id],
    );
  }

  async setWatermark(manager: EntityManager, w: { at: Date; id: number }): Promise<void> {
    await manager.query(`UPDATE conversation_report_watermark SET rolled_until = $1, rolled_id = $2`, [w.at, w.id]);
  }

  /** Empties the rollup (the report reads raw rows until the job has rolled up again). */
  async reset(manager: EntityManager): Promise<void> {
    await manager.query(`DELETE FROM conversation_report_slots`);
    await manager.query(`UPDATE conversation_report_watermark SET rolled_until = '-infinity', rolled_id = 0, candidate_id = NULL, candidate_at = NULL`);
  }

  /**
   * Recounts `in_sla` of up to `limit` slots counted with another target than their queue's
   * current `slaSeconds` (changed since, or the queue deleted), up to the watermark `w`.
   * Answers how many it recounted.
   */
  async refreshServiceLevel(manager: EntityManager, w: { at: Date; id: number }, limit: number): Promise<number> {
    const [, n]: [unknown, number] = await manager.query(
      `WITH stale AS (
         SELECT s.slot, s.queue_id, coalesce(q.sla_seconds, 60) AS sla
         FROM conversation_report_slots s LEFT JOIN queues q ON q.id = s.queue_id
         WHERE s.assigned > 0 AND s.sla_seconds IS DISTINCT FROM coalesce(q.sla_seconds, 60)
         LIMIT $2
       )
       UPDATE conversation_report_slots s SET sla_seconds = x.sla, in_sla = (
         SELECT count(*)::int FROM conversations c
         WHERE c.queue_id = x.queue_id AND c.first_assigned_at >= x.slot AND c.first_assigned_at < x.slot + interval '15 minutes'
           AND c.first_assigned_at < $1 AND c.resolved_at < $1 AND c.id <= $3 AND c.first_assigned_at - c.created_at <= x.sla * interval '1 second')
       FROM stale x WHERE s.slot = x.slot AND s.queue_id = x.queue_id`,
      [w.at, limit, w.id],
    );
    return n;
  }
}

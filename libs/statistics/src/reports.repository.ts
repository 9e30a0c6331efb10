import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { IN_SLA, MICROSECONDS } from './report-rollup.repository';

export type Interval = 'hour' | 'day';

export interface ConversationBucketRow {
  start: Date;
  started: number;
  assigned: number;
  resolved: number;
  abandoned: number;
  transferred: number;
  wait_sum: number | null;
  wait_max: number | null;
  in_sla: number;
  handle_sum: number | null;
  handled: number;
  response_sum: number | null;
  responded: number;
}

/** Where the rollup serves a report: its whole slots [a, b) and the watermark (time w, conversation id i); t = max(a, min(w, b)). */
export interface RolledRange {
  a: Date;
  t: Date;
  b: Date;
  w: Date;
  i: number;
}

export interface ConversationFilter {
  queueId?: number;
  agentId?: number;
}

export interface AgentSecondsRow {
  agent_id: number;
  seconds_by_state: Record<string, number>;
}

export interface AgentCountsRow {
  id: number;
  name: string;
  assigned: number;
  resolved: number;
  transferred_out: number;
  missed_offers: number;
  handle_sum: number | null;
  handled: number;
  response_sum: number | null;
  responded: number;
}

/** One agent's line of `/reports/agents`: its counts and its time in each state. */
export interface AgentReportRow extends AgentCountsRow {
  seconds_by_state: Record<string, number>;
}

/** Microseconds to seconds, exactly (numeric). */
const US = '1000000.0';

const SECONDS = (a: string, b: string) => `extract(epoch FROM ${a} - ${b})::float8`;

/** The states whose time `/reports/agents` adds up (agent_state_history.to_state). */
const AGENT_STATES = ['offline', 'available', 'busy', 'paused', 'wrap-up'];

/** Decision outcomes that put a conversation with an agent (an offer is not an assignment until accepted). */
const ASSIGNING_OUTCOMES = ['assigned', 'overflow', 'webhook', 'webhook-fallback', 'manual', 'transfer', 'accepted'];

/**
 * Report queries (API.md section 13). Each measure is an aggregate over the rows whose event
 * falls in [from, to), grouped by the event's bucket: `date_trunc(interval, at, tz)`, computed by
 * PostgreSQL in the IANA zone. Filters are spliced in as fixed SQL with parameters, so that each
 * range query uses its own index instead of a generic plan over optional filters.
 */
@Injectable()
export class ReportsRepository {
  /**
   * For the caller's transaction: no JIT compilation. The planner cannot tell how many buckets a
   * generate_series gives, overestimates the joins and would JIT-compile queries that run in
   * milliseconds (measured: 180 ms of a 20 ms report went to compiling).
   */
  async withoutJit(manager: EntityManager): Promise<void> {
    await manager.query(`SELECT set_config('jit', 'off', true)`);
  }

  /** For the caller's transaction: buckets in the zone `tz`, no JIT, room to hash the aggregation. */
  async prepareBuckets(manager: EntityManager, tz: string): Promise<void> {
    // The session zone makes generate_series step in local days (23 or 25 hours across DST).
    await manager.query(`SELECT set_config('TimeZone', $1, true)`, [tz]);
    await this.withoutJit(manager);
    // Room to aggregate by hashing (at most a few thousand buckets), never by sorting a million rows.
    await manager.query(`SELECT set_config('work_mem', '32MB', true)`);
  }

  /** Whether every bucket boundary in [a, b) falls on a slot boundary (false only for zones' historical odd offsets). */
  async slotsAlign(manager: EntityManager, a: Date, b: Date, interval: Interval, tz: string): Promise<boolean> {
    const [row]: { aligned: boolean | null }[] = await manager.query(
      `SELECT bool_and(extract(epoch FROM k) % 900 = 0) AS aligned
       FROM generate_series(date_trunc($3, $1::timestamptz, $4), $2::timestamptz, ('1 ' || $3)::interval) k`,
      [a, b, interval, tz],
    );
    return row?.aligned !== false;
  }

  /** The report from raw rows only (call prepareBuckets first). */
  async conversationBuckets(manager: EntityManager, from: Date, to: Date, interval: Interval, tz: string, filter: ConversationFilter): Promise<ConversationBucketRow[]> {
    const params: unknown[] = [from, to, interval, tz];
    const conditions: string[] = [];
    if (filter.queueId !== undefined) {
      params.push(filter.queueId);
      conditions.push(`c.queue_id = $${params.length}`);
    }
    if (filter.agentId !== undefined) {
      params.push(filter.agentId);
      conditions.push(`c.agent_id = $${params.length}`);
    }
    const and = conditions.map((c) => ` AND ${c}`).join('');
    const bucket = (column: string) => `date_trunc($3, ${column}, $4)`;
    const inRange = (column: string) => `${column} >= $1 AND ${column} < $2`;
    const transfers = conditions.length
      ? `SELECT ${bucket('t.at')} AS b, count(*)::int AS n FROM conversation_transfers t JOIN conversations c ON c.id = t.conversation_id
         WHERE ${inRange('t.at')}${and} GROUP BY 1`
      : `SELECT ${bucket('t.at')} AS b, count(*)::int AS n FROM conversation_transfers t WHERE ${inRange('t.at')} GROUP BY 1`;
    return manager.query(
      `WITH started AS (
         SELECT ${bucket('c.created_at')} AS b, count(*)::int AS n FROM conversations c WHERE ${inRange('c.created_at')}${and} GROUP BY 1
       ), assigned AS (
         SELECT ${bucket('c.first_assigned_at')} AS b, count(*)::int AS n,
                sum(${MICROSECONDS('c.first_assigned_at', 'c.created_at')}) / ${US} AS wait_sum, max(${MICROSECONDS('c.first_assigned_at', 'c.created_at')}) / ${US} AS wait_max,
                count(*) FILTER (WHERE ${IN_SLA('c', 'q')})::int AS in_sla
         FROM conversations c LEFT JOIN queues q ON q.id = c.queue_id
         WHERE c.first_assigned_at IS NOT NULL AND ${inRange('c.first_assigned_at')}${and} GROUP BY 1
       ), resolved AS (
         SELECT ${bucket('c.resolved_at')} AS b, count(*)::int AS n,
                count(*) FILTER (WHERE c.first_assigned_at IS NULL)::int AS abandoned,
                sum(${MICROSECONDS('c.resolved_at', 'c.first_assigned_at')}) FILTER (WHERE c.first_assigned_at IS NOT NULL) / ${US} AS handle_sum,
                count(*) FILTER (WHERE c.first_assigned_at IS NOT NULL)::int AS handled
         FROM conversations c WHERE c.resolved_at IS NOT NULL AND ${inRange('c.resolved_at')}${and} GROUP BY 1
       ), responded AS (
         SELECT ${bucket('c.first_response_at')} AS b, count(*)::int AS n, sum(${MICROSECONDS('c.first_response_at', 'c.first_assigned_at')}) / ${US} AS response_sum
         FROM conversations c WHERE c.first_response_at IS NOT NULL AND ${inRange('c.first_response_at')}${and} GROUP BY 1
       ), transferred AS (${transfers}
       ), series AS (
         SELECT generate_series(date_trunc($3, $1::timestamptz, $4), $2::timestamptz - interval '1 microsecond', ('1 ' || $3)::interval) AS b
       ), buckets AS (
         SELECT b FROM series UNION SELECT b FROM started UNION SELECT b FROM assigned UNION SELECT b FROM resolved
         UNION SELECT b FROM responded UNION SELECT b FROM transferred
       )
       SELECT k.b AS start,
              coalesce(s.n, 0) AS started, coalesce(a.n, 0) AS assigned, coalesce(r.n, 0) AS resolved, coalesce(r.abandoned, 0) AS abandoned,
              coalesce(t.n, 0) AS transferred, a.wait_sum, a.wait_max, coalesce(a.in_sla, 0) AS in_sla,
              r.handle_sum, coalesce(r.handled, 0) AS handled, f.response_sum, coalesce(f.n, 0) AS responded
       FROM buckets k
       LEFT JOIN started s ON s.b = k.b LEFT JOIN assigned a ON a.b = k.b LEFT JOIN resolved r ON r.b = k.b
       LEFT JOIN responded f ON f.b = k.b LEFT JOIN transferred t ON t.b = k.b
       ORDER BY k.b`,
      params,
    );
  }

  /**
   * The same report from the rollup's whole slots in [a, b) plus raw rows for the rest (call
   * prepareBuckets first, in a transaction that read the watermark from the same snapshot): an event
   * at `e` of conversation c is in the slots when a <= e < t, c.id <= i and c was resolved before w; otherwise it is
   * read raw, in [from, a) or [t, to) for every conversation (index ranges of minutes), or in
   * [a, t) for the conversations not rolled up (open ones, resolved since w). Slots counted with
   * another service-level target than their queue's current one get `in_sla` recounted raw.
   */
  async conversationBucketsRolledUp(
    manager: EntityManager,
    from: Date,
    to: Date,
    interval: Interval,
    tz: string,
    queueId: number | undefined,
    r: RolledRange,
  ): Promise<ConversationBucketRow[]> {
    const params: unknown[] = [from, to, interval, tz, r.a, r.t, r.b, r.w, r.i];
    let andQueue = '';
    let andStaleQueue = '';
    let slots = `SELECT * FROM conversation_report_totals s WHERE s.slot >= $5 AND s.slot < $7`;
    if (queueId !== undefined) {
      params.push(queueId);
      andQueue = ` AND c.queue_id = $${params.length}`;
      andStaleQueue = ` AND r.queue_id = $${params.length}`;
      slots = `SELECT * FROM conversation_report_slots s WHERE s.queue_id = $${params.length} AND s.slot >= $5 AND s.slot < $7`;
    }
    const bucket = (column: string) => `date_trunc($3, ${column}, $4)`;
    const raw = (column: string) =>
      `SELECT c.* FROM conversations c WHERE ((${column} >= $1 AND ${column} < $5) OR (${column} >= $6 AND ${column} < $2))${andQueue}
       UNION ALL SELECT c.* FROM unrolled c WHERE ${column} >= $5 AND ${column} < $6`;
    return manager.query(
      `WITH unrolled AS MATERIALIZED (
         SELECT c.* FROM conversations c WHERE c.status <> 'resolved'${andQueue}
         UNION ALL SELECT c.* FROM conversations c WHERE c.resolved_at >= $8${andQueue}
         UNION ALL SELECT c.* FROM conversations c WHERE c.id > $9 AND c.resolved_at < $8${andQueue}
       ), started AS (
         SELECT ${bucket('c.created_at')} AS b, count(*)::int AS n FROM (${raw('c.created_at')}) c GROUP BY 1
       ), assigned AS (
         SELECT ${bucket('c.first_assigned_at')} AS b, count(*)::int AS n,
                sum(${MICROSECONDS('c.first_assigned_at', 'c.created_at')}) AS wait_us, max(${MICROSECONDS('c.first_assigned_at', 'c.created_at')}) AS wait_max_us,
                count(*) FILTER (WHERE ${IN_SLA('c', 'q')})::int AS in_sla
         FROM (${raw('c.first_assigned_at')}) c LEFT JOIN queues q ON q.id = c.queue_id GROUP BY 1
       ), resolved AS (
         SELECT ${bucket('c.resolved_at')} AS b, count(*)::int AS n,
                count(*) FILTER (WHERE c.first_assigned_at IS NULL)::int AS abandoned,
                sum(${MICROSECONDS('c.resolved_at', 'c.first_assigned_at')}) FILTER (WHERE c.first_assigned_at IS NOT NULL) AS handle_us,
                count(*) FILTER (WHERE c.first_assigned_at IS NOT NULL)::int AS handled
         FROM (${raw('c.resolved_at')}) c GROUP BY 1
       ), responded AS (
         SELECT ${bucket('c.first_response_at')} AS b, count(*)::int AS n, sum(${MICROSECONDS('c.first_response_at', 'c.first_assigned_at')}) AS response_us
         FROM (${raw('c.first_response_at')}) c GROUP BY 1
       ), transferred AS (
         SELECT ${bucket('x.at')} AS b, count(*)::int AS n FROM (
           SELECT t.at FROM conversation_transfers t JOIN conversations c ON c.id = t.conversation_id
           WHERE ((t.at >= $1 AND t.at < $5) OR (t.at >= $6 AND t.at < $2))${andQueue}
           UNION ALL SELECT t.at FROM conversation_transfers t JOIN unrolled c ON c.id = t.conversation_id WHERE t.at >= $5 AND t.at < $6) x
         GROUP BY 1
       ), rolled AS (
         SELECT ${bucket('s.slot')} AS b, sum(s.started)::int AS started, sum(s.assigned)::int AS assigned, sum(s.wait_us) AS wait_us,
                max(s.wait_max_us) AS wait_max_us, sum(s.in_sla)::int AS in_sla,
                sum(s.resolved)::int AS resolved, sum(s.abandoned)::int AS abandoned, sum(s.handle_us) AS handle_us, sum(s.handled)::int AS handled,
                sum(s.response_us) AS response_us, sum(s.responded)::int AS responded, sum(s.transferred)::int AS transferred
         FROM (${slots}) s GROUP BY 1
       ), stale AS (
         -- Queues whose slots were counted with another target: their in_sla taken out and recounted raw.
         SELECT r.queue_id, coalesce(q.sla_seconds, 60) AS sla FROM conversation_report_queues r LEFT JOIN queues q ON q.id = r.queue_id
         WHERE r.sla_seconds IS DISTINCT FROM coalesce(q.sla_seconds, 60)${andStaleQueue}
       ), recounted AS (
         SELECT b, sum(n)::int AS in_sla FROM (
           SELECT ${bucket('s.slot')} AS b, -sum(s.in_sla) AS n FROM conversation_report_slots s JOIN stale x ON x.queue_id = s.queue_id
           WHERE s.slot >= $5 AND s.slot < $7 GROUP BY 1
           UNION ALL
           SELECT ${bucket('c.first_assigned_at')}, count(*) FROM conversations c JOIN stale x ON x.queue_id = c.queue_id
           WHERE c.first_assigned_at >= $5 AND c.first_assigned_at < $7 AND c.first_assigned_at < $8 AND c.resolved_at < $8 AND c.id <= $9
             AND c.first_assigned_at - c.created_at <= x.sla * interval '1 second'
           GROUP BY 1) y
         GROUP BY b
       ), series AS (
         SELECT generate_series(date_trunc($3, $1::timestamptz, $4), $2::timestamptz - interval '1 microsecond', ('1 ' || $3)::interval) AS b
       ), buckets AS (
         SELECT b FROM series UNION SELECT b FROM started UNION SELECT b FROM assigned UNION SELECT b FROM resolved
         UNION SELECT b FROM responded UNION SELECT b FROM transferred UNION SELECT b FROM rolled
       )
       SELECT k.b AS start,
              coalesce(s.n, 0) + coalesce(o.started, 0) AS started,
              coalesce(a.n, 0) + coalesce(o.assigned, 0) AS assigned,
              coalesce(r.n, 0) + coalesce(o.resolved, 0) AS resolved,
              coalesce(r.abandoned, 0) + coalesce(o.abandoned, 0) AS abandoned,
              coalesce(t.n, 0) + coalesce(o.transferred, 0) AS transferred,
              (coalesce(a.wait_us, 0) + coalesce(o.wait_us, 0)) / ${US} AS wait_sum,
              greatest(a.wait_max_us, o.wait_max_us) / ${US} AS wait_max,
              coalesce(a.in_sla, 0) + coalesce(o.in_sla, 0) + coalesce(x.in_sla, 0) AS in_sla,
              (coalesce(r.handle_us, 0) + coalesce(o.handle_us, 0)) / ${US} AS handle_sum,
              coalesce(r.handled, 0) + coalesce(o.handled, 0) AS handled,
              (coalesce(f.response_us, 0) + coalesce(o.response_us, 0)) / ${US} AS response_sum,
              coalesce(f.n, 0) + coalesce(o.responded, 0) AS responded
       FROM buckets k
       LEFT JOIN started s ON s.b = k.b LEFT JOIN assigned a ON a.b = k.b LEFT JOIN resolved r ON r.b = k.b
       LEFT JOIN responded f ON f.b = k.b LEFT JOIN transferred t ON t.b = k.b LEFT JOIN rolled o ON o.b = k.b LEFT JOIN recounted x ON x.b = k.b
       ORDER BY k.b`,
      params,
    );
  }

  /**
   * Per agent: seconds in each state over [from, until), from agent_state_history (the state at
   * `from` is the last one recorded before it, `offline` when none). Agents that no longer exist
   * are left out.
   */
  agentSeconds(manager: EntityManager, from: Date, to: Date): Promise<AgentSecondsRow[]> {
    return manager.query(
      `WITH bounds AS (SELECT $1::timestamptz AS lo, least($2::timestamptz, greatest(now(), $1::timestamptz)) AS hi
       ), points AS (
         SELECT a.id AS agent_id, 0 AS ord, 0::bigint AS hid, b.lo AS at,
                coalesce((SELECT h.to_state FROM agent_state_history h WHERE h.agent_id = a.id AND h.at < b.lo ORDER BY h.at DESC, h.id DESC LIMIT 1), 'offline') AS state
         FROM agents a CROSS JOIN bounds b
         UNION ALL
         SELECT h.agent_id, 1, h.id, h.at, h.to_state FROM agent_state_history h CROSS JOIN bounds b
         WHERE h.at >= b.lo AND h.at < b.hi AND EXISTS (SELECT 1 FROM agents a WHERE a.id = h.agent_id)
       ), segments AS (
         SELECT p.agent_id, p.state, lead(p.at, 1, b.hi) OVER (PARTITION BY p.agent_id ORDER BY p.at, p.ord, p.hid) - p.at AS length
         FROM points p CROSS JOIN bounds b
       )
       -- Intervals summed (whole microseconds), converted once per agent and state.
       SELECT agent_id, jsonb_build_object(${AGENT_STATES.map((st) => `'${st}', extract(epoch FROM coalesce(sum(length) FILTER (WHERE state = '${st}'), interval '0'))::float8`).join(', ')}) AS seconds_by_state
       FROM segments GROUP BY agent_id`,
      [from, to],
    );
  }

  /** Per agent: the counts and durations of the conversations and decisions of [from, to). */
  agentCounts(manager: EntityManager, from: Date, to: Date): Promise<AgentCountsRow[]> {
    return manager.query(
      `WITH assigned AS (
         SELECT d.agent_id, count(*)::int AS n FROM allocation_decisions d
         WHERE d.agent_id IS NOT NULL AND d.at >= $1 AND d.at < $2 AND d.outcome = ANY($3::text[]) GROUP BY 1
       ), missed AS (
         SELECT d.agent_id, count(*)::int AS n FROM allocation_decisions d
         WHERE d.agent_id IS NOT NULL AND d.at >= $1 AND d.at < $2 AND d.outcome = 'offer-expired' GROUP BY 1
       ), resolved AS (
         SELECT c.agent_id, count(*)::int AS n, sum(${SECONDS('c.resolved_at', 'c.assigned_at')}) FILTER (WHERE c.assigned_at IS NOT NULL) AS handle_sum,
                count(*) FILTER (WHERE c.assigned_at IS NOT NULL)::int AS handled
         FROM conversations c WHERE c.agent_id IS NOT NULL AND c.resolved_at >= $1 AND c.resolved_at < $2 GROUP BY 1
       ), transferred AS (
         SELECT t.from_agent_id AS agent_id, count(*)::int AS n FROM conversation_transfers t
         WHERE t.from_agent_id IS NOT NULL AND t.at >= $1 AND t.at < $2 GROUP BY 1
       ), responded AS (
         SELECT c.first_response_agent_id AS agent_id, count(*)::int AS n, sum(${SECONDS('c.first_response_at', 'c.first_assigned_at')}) AS response_sum
         FROM conversations c WHERE c.first_response_at >= $1 AND c.first_response_at < $2 GROUP BY 1
       )
       SELECT a.id, a.name,
              coalesce(x.n, 0) AS assigned, coalesce(r.n, 0) AS resolved, coalesce(t.n, 0) AS transferred_out, coalesce(m.n, 0) AS missed_offers,
              r.handle_sum, coalesce(r.handled, 0) AS handled, f.response_sum, coalesce(f.n, 0) AS responded
       FROM agents a
       LEFT JOIN assigned x ON x.agent_id = a.id LEFT JOIN missed m ON m.agent_id = a.id
       LEFT JOIN resolved r ON r.agent_id = a.id LEFT JOIN transferred t ON t.agent_id = a.id LEFT JOIN responded f ON f.agent_id = a.id
       ORDER BY a.id`,
      [from, to, ASSIGNING_OUTCOMES],
    );
  }
}

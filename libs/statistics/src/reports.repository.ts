import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

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

export interface ConversationFilter {
  queueId?: number;
  agentId?: number;
}

export interface AgentReportRow {
  id: number;
  name: string;
  seconds_by_state: Record<string, number>;
  assigned: number;
  resolved: number;
  transferred_out: number;
  missed_offers: number;
  handle_sum: number | null;
  handled: number;
  response_sum: number | null;
  responded: number;
}

const SECONDS = (a: string, b: string) => `extract(epoch FROM ${a} - ${b})::float8`;

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
    // The session zone makes generate_series step in local days (23 or 25 hours across DST).
    await manager.query(`SELECT set_config('TimeZone', $1, true)`, [tz]);
    await this.withoutJit(manager);
    // Room to aggregate by hashing (at most a few thousand buckets), never by sorting a million rows.
    await manager.query(`SELECT set_config('work_mem', '32MB', true)`);
    return manager.query(
      `WITH started AS (
         SELECT ${bucket('c.created_at')} AS b, count(*)::int AS n FROM conversations c WHERE ${inRange('c.created_at')}${and} GROUP BY 1
       ), assigned AS (
         SELECT ${bucket('c.first_assigned_at')} AS b, count(*)::int AS n,
                sum(${SECONDS('c.first_assigned_at', 'c.created_at')}) AS wait_sum, max(${SECONDS('c.first_assigned_at', 'c.created_at')}) AS wait_max,
                count(*) FILTER (WHERE c.first_assigned_at - c.created_at <= coalesce(q.sla_seconds, 60) * interval '1 second')::int AS in_sla
         FROM conversations c LEFT JOIN queues q ON q.id = c.queue_id
         WHERE c.first_assigned_at IS NOT NULL AND ${inRange('c.first_assigned_at')}${and} GROUP BY 1
       ), resolved AS (
         SELECT ${bucket('c.resolved_at')} AS b, count(*)::int AS n,
                count(*) FILTER (WHERE c.first_assigned_at IS NULL)::int AS abandoned,
                sum(${SECONDS('c.resolved_at', 'c.first_assigned_at')}) FILTER (WHERE c.first_assigned_at IS NOT NULL) AS handle_sum,
                count(*) FILTER (WHERE c.first_assigned_at IS NOT NULL)::int AS handled
         FROM conversations c WHERE c.resolved_at IS NOT NULL AND ${inRange('c.resolved_at')}${and} GROUP BY 1
       ), responded AS (
         SELECT ${bucket('c.first_response_at')} AS b, count(*)::int AS n, sum(${SECONDS('c.first_response_at', 'c.first_assigned_at')}) AS response_sum
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
   * Per agent: seconds in each state over [from, until), from agent_state_history (the state at
   * `from` is the last one recorded before it, `offline` when none), and the counts of the range.
   */
  agents(manager: EntityManager, from: Date, to: Date): Promise<AgentReportRow[]> {
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
       ), by_state AS (
         SELECT agent_id, jsonb_object_agg(state, seconds) AS seconds_by_state FROM (
           SELECT agent_id, state, sum(extract(epoch FROM length))::float8 AS seconds FROM segments GROUP BY agent_id, state) x
         GROUP BY agent_id
       ), assigned AS (
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
       SELECT a.id, a.name, coalesce(s.seconds_by_state, '{}'::jsonb) AS seconds_by_state,
              coalesce(x.n, 0) AS assigned, coalesce(r.n, 0) AS resolved, coalesce(t.n, 0) AS transferred_out, coalesce(m.n, 0) AS missed_offers,
              r.handle_sum, coalesce(r.handled, 0) AS handled, f.response_sum, coalesce(f.n, 0) AS responded
       FROM agents a
       LEFT JOIN by_state s ON s.agent_id = a.id LEFT JOIN assigned x ON x.agent_id = a.id LEFT JOIN missed m ON m.agent_id = a.id
       LEFT JOIN resolved r ON r.agent_id = a.id LEFT JOIN transferred t ON t.agent_id = a.id LEFT JOIN responded f ON f.agent_id = a.id
       ORDER BY a.id`,
      [from, to, ASSIGNING_OUTCOMES],
    );
  }
}

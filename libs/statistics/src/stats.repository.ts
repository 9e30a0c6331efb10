import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AgentState } from '@cc/common';
import { activeCountSql, heldCountSql, stateSql } from '@cc/presence';
import { ESTIMATE_WINDOW_SECONDS } from './wait-estimate';

export interface QueueLiveRow {
  id: number;
  name: string;
  waiting: number;
  offered: number;
  active: number;
  oldest_waiting_since: Date | null;
  assigned_in_window: number;
  now: Date;
}

export interface MemberStateRow {
  queue_id: number;
  state: AgentState;
  n: number;
}

export interface AgentLiveRow {
  id: number;
  name: string;
  state: AgentState;
  active: number;
  active_by_channel: Record<string, number>;
  last_state: AgentState | null;
  last_at: Date | null;
  created_at: Date;
}

// Offers hold slots: an agent whose offers and conversations fill its capacity is busy.
const STATE = stateSql('p', 'a', heldCountSql('a.id'));

/** Counts per queue, each on an index: open conversations by queue, the waiting line, recent first assignments. */
const QUEUES_SQL = `
  SELECT q.id, q.name,
    (SELECT count(*)::int FROM conversations c WHERE c.queue_id = q.id AND c.status = 'queued') AS waiting,
    (SELECT count(*)::int FROM conversations c WHERE c.queue_id = q.id AND c.status = 'offered') AS offered,
    (SELECT count(*)::int FROM conversations c WHERE c.queue_id = q.id AND c.status = 'active') AS active,
    (SELECT min(c.waiting_since) FROM conversations c WHERE c.queue_id = q.id AND c.status = 'queued') AS oldest_waiting_since,
    (SELECT count(*)::int FROM conversations c
      WHERE c.queue_id = q.id AND c.first_assigned_at IS NOT NULL AND c.first_assigned_at >= now() - interval '${ESTIMATE_WINDOW_SECONDS} seconds') AS assigned_in_window,
    now() AS now
  FROM queues q WHERE ($1::int[] IS NULL OR q.id = ANY($1::int[])) ORDER BY q.id`;

const MEMBER_STATES_SQL = `
  SELECT m.queue_id, s.state, count(*)::int AS n
  FROM queue_members m JOIN agents a ON a.id = m.agent_id LEFT JOIN agent_presence p ON p.agent_id = a.id
  CROSS JOIN LATERAL (SELECT ${STATE} AS state) s
  WHERE ($1::int[] IS NULL OR m.queue_id = ANY($1::int[]))
  GROUP BY m.queue_id, s.state`;

const AGENTS_SQL = `
  SELECT a.id, a.name, a.created_at, ${STATE} AS state, ${activeCountSql('a.id')} AS active,
    coalesce((SELECT jsonb_object_agg(x.channel, x.n) FROM (
       SELECT c.channel, count(*)::int AS n FROM conversations c WHERE c.agent_id = a.id AND c.status = 'active' GROUP BY c.channel) x), '{}'::jsonb) AS active_by_channel,
    h.to_state AS last_state, h.at AS last_at
  FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id
  LEFT JOIN LATERAL (SELECT to_state, at FROM agent_state_history h WHERE h.agent_id = a.id ORDER BY h.at DESC, h.id DESC LIMIT 1) h ON true
  ORDER BY a.id`;

/** Live read models of the supervisor view (API.md section 13): reads only, every number from the stored state. */
@Injectable()
export class StatsRepository {
  /** For the caller's transaction: no JIT compilation (see ReportsRepository.withoutJit). */
  async withoutJit(manager: EntityManager): Promise<void> {
    await manager.query(`SELECT set_config('jit', 'off', true)`);
  }

  /** One row per queue (only `queueIds` when given). */
  queues(manager: EntityManager, queueIds: number[] | null = null): Promise<QueueLiveRow[]> {
    return manager.query(QUEUES_SQL, [queueIds]);
  }

  memberStates(manager: EntityManager, queueIds: number[] | null = null): Promise<MemberStateRow[]> {
    return manager.query(MEMBER_STATES_SQL, [queueIds]);
  }

  agents(manager: EntityManager): Promise<AgentLiveRow[]> {
    return manager.query(AGENTS_SQL);
  }
}

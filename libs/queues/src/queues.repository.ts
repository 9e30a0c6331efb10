import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { QueueOverflow, QueueStrategy } from '@cc/protocol';

export const DEFAULT_QUEUE = 'default';

/** A `queues` row as raw SQL returns it; the one row type of the table. */
export interface QueueRow {
  id: number;
  name: string;
  strategy: QueueStrategy;
  overflow: QueueOverflow;
  channels: string[];
  priority: number;
  webhook_url: string | null;
  webhook_timeout_ms: number;
  /** > 0: automatic allocation offers for this long (API.md section 11). */
  offer_timeout_seconds: number;
  pause_on_missed_offer: boolean;
  sla_seconds: number;
  last_assigned_agent_id: number | null;
  created_at: Date;
  updated_at: Date;
}

/** The settable columns of a queue, by their API names. */
export interface QueueFields {
  name?: string;
  strategy?: QueueStrategy;
  overflow?: QueueOverflow;
  channels?: string[];
  priority?: number;
  webhookUrl?: string | null;
  webhookTimeoutMs?: number;
  offerTimeoutSeconds?: number;
  pauseOnMissedOffer?: boolean;
  slaSeconds?: number;
}

const COLUMN_OF: Record<keyof QueueFields, string> = {
  name: 'name',
  strategy: 'strategy',
  overflow: 'overflow',
  channels: 'channels',
  priority: 'priority',
  webhookUrl: 'webhook_url',
  webhookTimeoutMs: 'webhook_timeout_ms',
  offerTimeoutSeconds: 'offer_timeout_seconds',
  pauseOnMissedOffer: 'pause_on_missed_offer',
  slaSeconds: 'sla_seconds',
};

/**
 * SQL choosing the queue of a new conversation: the one named by `queueIdParam` when it is not
 * NULL, else the highest-priority queue whose `channels` list the channel, else `default`.
 */
// FOR KEY SHARE: a queue being deleted (which locks its row FOR UPDATE, then counts its open
// conversations) waits for a start that chose it, so the start either counts or finds no queue.
export function routeQueueSql(channelParam: string, queueIdParam: string): string {
  return `
  SELECT id, webhook_url FROM queues
  WHERE CASE WHEN ${queueIdParam}::int IS NULL THEN ${channelParam}::text = ANY(channels) OR name = '${DEFAULT_QUEUE}' ELSE id = ${queueIdParam}::int END
  ORDER BY (name = '${DEFAULT_QUEUE}' AND NOT (${channelParam}::text = ANY(channels))), priority DESC, id
  LIMIT 1
  FOR KEY SHARE`;
}

/** For a statement composed by allocation (one round trip under its lock): round-robin bookkeeping of queue `queue`. */
export function markQueueAssignedSql(queue: string, agent: string): string {
  return `UPDATE queues SET last_assigned_agent_id = ${agent} WHERE id = ${queue}`;
}

/**
 * markQueueAssignedSql for a batch: `input` names a relation with columns queue_id, agent_id and
 * ord; each queue's mark becomes the agent of its last (highest ord) row.
 */
export function markQueuesAssignedSql(input: string): string {
  return `UPDATE queues q SET last_assigned_agent_id = l.agent_id
          FROM (SELECT DISTINCT ON (queue_id) queue_id, agent_id FROM ${input} ORDER BY queue_id, ord DESC) l WHERE q.id = l.queue_id`;
}

/** Every SQL statement on `queues` and `queue_members` (the tables of this library). Always given the caller's manager. */
@Injectable()
export class QueuesRepository {
  async insert(manager: EntityManager, fields: QueueFields): Promise<number> {
    const columns: string[] = [];
    const params: unknown[] = [];
    for (const [key, column] of Object.entries(COLUMN_OF) as [keyof QueueFields, string][]) {
      if (fields[key] !== undefined) {
        columns.push(column);
        params.push(fields[key]);
      }
    }
    const rows: { id: number }[] = await manager.query(
      columns.length
        ? `INSERT INTO queues (${columns.join(', ')}) VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`
        : `INSERT INTO queues DEFAULT VALUES RETURNING id`,
      params,
    );
    return rows[0].id;
  }

  async update(manager: EntityManager, id: number, fields: QueueFields): Promise<void> {
    const sets = ['updated_at = now()'];
    const params: unknown[] = [id];
    for (const [key, column] of Object.entries(COLUMN_OF) as [keyof QueueFields, string][]) {
      if (fields[key] !== undefined) sets.push(`${column} = $${params.push(fields[key])}`);
    }
    await manager.query(`UPDATE queues SET ${sets.join(', ')} WHERE id = $1`, params);
  }

  async delete(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`DELETE FROM queues WHERE id = $1`, [id]);
  }

  async find(manager: EntityManager, id: number, forUpdate = false): Promise<QueueRow | null> {
    const rows: QueueRow[] = await manager.query(`SELECT * FROM queues WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] ?? null;
  }

  /** The existing ids among `ids`, share-locked against deletion for the rest of the transaction. */
  async lockExisting(manager: EntityManager, ids: number[]): Promise<number[]> {
    const rows: { id: number }[] = await manager.query(`SELECT id FROM queues WHERE id = ANY($1::int[]) FOR SHARE`, [ids]);
    return rows.map((r) => r.id);
  }

  async idsNamed(manager: EntityManager, name: string): Promise<number[]> {
    const rows: { id: number }[] = await manager.query(`SELECT id FROM queues WHERE name = $1`, [name]);
    return rows.map((r) => r.id);
  }

  async page(manager: EntityManager, limit: number, offset: number): Promise<{ rows: QueueRow[]; total: number }> {
    const [rows, count] = await Promise.all([
      manager.query(`SELECT * FROM queues ORDER BY id LIMIT $1 OFFSET $2`, [limit, offset]),
      manager.query(`SELECT count(*)::int AS n FROM queues`),
    ]);
    return { rows, total: count[0].n };
  }

  /** The id of the queue a new conversation on `channel` goes to (see routeQueueSql). */
  async routeId(manager: EntityManager, channel: string): Promise<number | null> {
    const [row]: { id: number }[] = await manager.query(routeQueueSql('$1', '$2'), [channel, null]);
    return row?.id ?? null;
  }

  async addMember(manager: EntityManager, queueId: number, agentId: number): Promise<void> {
    await manager.query(`INSERT INTO queue_members (queue_id, agent_id) VALUES ($1, $2)`, [queueId, agentId]);
  }

  /** Answers whether a membership was removed. */
  async removeMember(manager: EntityManager, queueId: number, agentId: number): Promise<boolean> {
    const [, removed]: [unknown, number] = await manager.query(`DELETE FROM queue_members WHERE queue_id = $1 AND agent_id = $2`, [queueId, agentId]);
    return removed > 0;
  }

  /** Makes the agent's membership exactly `queueIds` (existing queues, checked by the caller); answers whether it changed. */
  async replaceMembership(manager: EntityManager, agentId: number, queueIds: number[]): Promise<boolean> {
    const [, removed]: [unknown, number] = await manager.query(
      `DELETE FROM queue_members WHERE agent_id = $1 AND NOT (queue_id = ANY($2::int[]))`,
      [agentId, queueIds],
    );
    const added: unknown[] = await manager.query(
      `INSERT INTO queue_members (queue_id, agent_id) SELECT unnest($2::int[]), $1 ON CONFLICT DO NOTHING RETURNING queue_id`,
      [agentId, queueIds],
    );
    return removed > 0 || added.length > 0;
  }

  async agentExists(manager: EntityManager, agentId: number): Promise<boolean> {
    const agents: unknown[] = await manager.query(`SELECT 1 FROM agents WHERE id = $1`, [agentId]);
    return agents.length > 0;
  }

  async memberIds(manager: EntityManager, queueId: number): Promise<number[]> {
    const rows: { agent_id: number }[] = await manager.query(`SELECT agent_id FROM queue_members WHERE queue_id = $1`, [queueId]);
    return rows.map((r) => r.agent_id);
  }

  async membersOf(manager: EntityManager, queueIds: number[]): Promise<Map<number, number[]>> {
    const rows: { queue_id: number; ids: number[] }[] = await manager.query(
      `SELECT queue_id, array_agg(agent_id ORDER BY agent_id) AS ids FROM queue_members WHERE queue_id = ANY($1) GROUP BY queue_id`,
      [queueIds],
    );
    return new Map(rows.map((r) => [r.queue_id, r.ids]));
  }

  /** Read model over `conversations`: how many wait in each queue, and since when the oldest. */
  async waiting(manager: EntityManager, queueIds: number[]): Promise<Map<number, { count: number; oldest: Date | null }>> {
    const rows: { queue_id: number; n: string; oldest: Date }[] = await manager.query(
      `SELECT queue_id, count(*) AS n, min(waiting_since) AS oldest FROM conversations
       WHERE status = 'queued' AND queue_id = ANY($1) GROUP BY queue_id`,
      [queueIds],
    );
    return new Map(rows.map((r) => [r.queue_id, { count: Number(r.n), oldest: r.oldest }]));
  }

  /** Conversations of the queue that are not resolved (queued, offered, active). */
  async countOpen(manager: EntityManager, queueId: number): Promise<number> {
    const open: { n: string }[] = await manager.query(`SELECT count(*) AS n FROM conversations WHERE queue_id = $1 AND status <> 'resolved'`, [queueId]);
    return Number(open[0].n);
  }
}

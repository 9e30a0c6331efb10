import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Errors } from '@cc/common';
import { ConversationRow, heldByChannelSql } from '@cc/conversations';
import { heldCountSql } from '@cc/presence';
import { QueueRow } from '@cc/queues';
import { Candidate } from './strategies';

export type { QueueRow } from '@cc/queues';

/** A candidate with what a decision's events need. */
export interface Member extends Candidate {
  name: string;
}

interface MemberRecord {
  id: number;
  name: string;
  skills: string[];
  max_concurrent: number;
  channel_capacity: Record<string, number>;
  by_channel: Record<string, number>;
  logged: boolean;
  paused: boolean;
  wrap_up_until: Date | null;
  last_assigned_at: Date | null;
  active: number;
}

// `active` counts the slots an agent holds (offered + active); per channel only when it has channel caps.
const CANDIDATE_COLUMNS = `
  a.id, a.name, a.skills, a.max_concurrent, a.channel_capacity, coalesce(p.logged, false) AS logged, coalesce(p.paused, false) AS paused,
  p.wrap_up_until, p.last_assigned_at, ${heldCountSql('a.id')} AS active,
  CASE WHEN a.channel_capacity = '{}'::jsonb THEN '{}'::jsonb ELSE ${heldByChannelSql('a.id')} END AS by_channel`;

const QUEUE_WITH_MEMBERS_SQL = `
  SELECT now() AS tx_now, to_jsonb(q) AS queue, ${CANDIDATE_COLUMNS} FROM queues q
  LEFT JOIN queue_members m ON m.queue_id = q.id
  LEFT JOIN agents a ON a.id = m.agent_id LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE q.id = $1 ORDER BY a.id`;

const LOCKED_CONTEXT_SQL = `
  SELECT now() AS tx_now, to_jsonb(c) AS conversation, to_jsonb(q) AS queue, ${CANDIDATE_COLUMNS} FROM conversations c
  JOIN queues q ON q.id = c.queue_id
  LEFT JOIN queue_members m ON m.queue_id = q.id
  LEFT JOIN agents a ON a.id = m.agent_id LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE c.id = $1 ORDER BY a.id FOR UPDATE OF c`;

const AGENTS_SQL = `
  SELECT ${CANDIDATE_COLUMNS} FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE a.id = ANY($1::int[]) ORDER BY a.id`;

/**
 * The read model of a decision: a queue, its members and their live load (agents, presence,
 * queue membership and active conversations joined). Reads only; nothing here writes.
 */
@Injectable()
export class CandidatesRepository {
  /** Under the allocation lock: the conversation (row-locked), its queue and the members' live load, in one round trip. */
  async lockedContext(manager: EntityManager, conversationId: number): Promise<{ conversation: ConversationRow; queue: QueueRow; members: Member[]; now: Date }> {
    const rows: (MemberRecord & { queue: QueueRow; conversation: ConversationRow; tx_now: Date })[] = await manager.query(LOCKED_CONTEXT_SQL, [conversationId]);
    if (!rows.length) throw Errors.noSuchConversation();
    const conversation = { ...rows[0].conversation, ...timestampsOf(rows[0].conversation) };
    return { conversation, queue: rows[0].queue, members: rows.filter((r) => r.id !== null).map(toMember), now: rows[0].tx_now };
  }

  /** The queue and its members' live load in one round trip (`now`: the transaction's). */
  async queueWithMembers(manager: EntityManager, queueId: number): Promise<{ queue: QueueRow; members: Member[]; now: Date }> {
    const rows: (MemberRecord & { queue: QueueRow; tx_now: Date })[] = await manager.query(QUEUE_WITH_MEMBERS_SQL, [queueId]);
    if (!rows.length) throw Errors.noSuchQueue();
    return { queue: rows[0].queue, members: rows.filter((r) => r.id !== null).map(toMember), now: rows[0].tx_now };
  }

  /** Row-locks the conversations a batch of decisions is about, in id order (one statement, no deadlock between batches). */
  async lockConversations(manager: EntityManager, ids: number[]): Promise<ConversationRow[]> {
    return manager.query(`SELECT * FROM conversations WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE`, [ids]);
  }

  async agents(manager: EntityManager, agentIds: number[]): Promise<Member[]> {
    return (await manager.query(AGENTS_SQL, [agentIds])).map(toMember);
  }

  async queue(manager: EntityManager, id: number): Promise<QueueRow> {
    const rows: QueueRow[] = await manager.query(`SELECT * FROM queues WHERE id = $1`, [id]);
    if (!rows.length) throw Errors.noSuchQueue();
    return rows[0];
  }
}

/** to_jsonb() renders timestamps as text; the row type carries dates. */
function timestampsOf(row: ConversationRow): Pick<ConversationRow, 'created_at' | 'waiting_since' | 'assigned_at' | 'resolved_at'> {
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return { created_at: date(row.created_at)!, waiting_since: date(row.waiting_since), assigned_at: date(row.assigned_at), resolved_at: date(row.resolved_at) };
}

function toMember(r: MemberRecord): Member {
  return {
    agentId: r.id,
    name: r.name,
    skills: r.skills,
    maxConcurrent: r.max_concurrent,
    channelCapacity: r.channel_capacity,
    byChannel: r.by_channel,
    active: r.active,
    logged: r.logged,
    paused: r.paused,
    wrapUpUntil: r.wrap_up_until,
    lastAssignedAt: r.last_assigned_at,
  };
}

import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Errors } from '@cc/common';
import { ConversationRow, heldByChannelSql } from '@cc/conversations';
import { heldCountSql } from '@cc/presence';
import { QueueRow } from '@cc/queues';
import { Candidate, eligibleSql, orderByStrategy, strategyOrderSql } from './strategies';

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

/** The members a decision's log names besides the chosen agent: the first ones by id (decider.ts). */
export const LOGGED_MEMBERS = 20;

/**
 * The members of a decision's queue it reads under the lock: the best eligible ones in the
 * strategy's order (at most `limit`, the conversation's passed agents left out), the first
 * LOGGED_MEMBERS by id (its log; in a small queue, every member, which the overflow rule needs),
 * the passed agents and the agents in `include` (a webhook's answer). Every member is judged
 * here; none is sent back beyond those. `target` is a CTE the SQL expressions `queueId`,
 * `channel` and `passed` may read; `extra`, further output columns.
 */
function candidatesSql(o: { target: string; queueId: string; channel: string; passed: string; limit: string; include: string; extra?: string; before?: string }): string {
  return `
  WITH ${o.before ? `${o.before},` : ''} target AS (${o.target}),
  q AS (SELECT * FROM queues WHERE id = ${o.queueId}),
  member AS MATERIALIZED (
    SELECT a.id, a.name, a.skills, a.max_concurrent, a.channel_capacity, p.logged, p.paused, p.wrap_up_until, p.last_assigned_at, ${heldCountSql('a.id')} AS held
    FROM queue_members m JOIN agents a ON a.id = m.agent_id LEFT JOIN agent_presence p ON p.agent_id = a.id
    WHERE m.queue_id = ${o.queueId}
  ), ranked AS (
    SELECT x.id FROM member x
    WHERE ${eligibleSql('x', o.channel, 'x.held', heldCountSql('x.id', o.channel))} AND NOT (x.id = ANY(${o.passed}))
    ORDER BY ${strategyOrderSql('(SELECT strategy FROM q)', 'x', 'x.held', '(SELECT last_assigned_agent_id FROM q)')}
    LIMIT ${o.limit}
  ), chosen AS (
    SELECT id, bool_or(ranked) AS ranked FROM (
      SELECT id, true AS ranked FROM ranked
      UNION ALL (SELECT id, false FROM member ORDER BY id LIMIT ${LOGGED_MEMBERS})
      UNION ALL SELECT id, false FROM member WHERE id = ANY(${o.passed} || ${o.include})
    ) picked GROUP BY id
  )
  SELECT now() AS tx_now, ${o.extra ?? ''} to_jsonb(q) AS queue, (SELECT count(*) FROM member)::int AS member_count, (SELECT count(*) FROM ranked)::int AS ranked_count,
    x.id, x.name, x.skills, x.max_concurrent, x.channel_capacity, coalesce(x.logged, false) AS logged, coalesce(x.paused, false) AS paused,
    x.wrap_up_until, x.last_assigned_at, x.held AS active, r.ranked,
    CASE WHEN x.channel_capacity = '{}'::jsonb THEN '{}'::jsonb ELSE ${heldByChannelSql('x.id')} END AS by_channel
  FROM target t JOIN q ON true LEFT JOIN (chosen r JOIN member x ON x.id = r.id) ON true
  ORDER BY x.id`;
}

// $1 conversation (row-locked), $2 limit, $3 include.
const LOCKED_CANDIDATES_SQL = candidatesSql({
  target: `SELECT c.queue_id, c.channel, c.offer_passed_agent_ids, to_jsonb(c) AS conversation FROM conversations c WHERE c.id = $1 FOR UPDATE`,
  queueId: '(SELECT queue_id FROM target)',
  channel: '(SELECT channel FROM target)',
  passed: '(SELECT offer_passed_agent_ids FROM target)::int[]',
  limit: '$2',
  include: '$3::int[]',
  extra: 't.conversation,',
});

/** $1 conversations, row-locked in id order (one order for every batch: no deadlock between them). */
const LOCK_CONVERSATIONS_SQL = `SELECT * FROM conversations WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE`;

// $1 the batch's conversations (row-locked in id order), $2 the one whose queue and channel are read, $3 limit. The
// locked rows come once, on the first row (none when that conversation or its queue is gone: the caller reads apart).
const BATCH_CANDIDATES_SQL = candidatesSql({
  before: `locked AS MATERIALIZED (${LOCK_CONVERSATIONS_SQL})`,
  target: `SELECT c.queue_id, c.channel, c.offer_passed_agent_ids, (SELECT jsonb_agg(to_jsonb(l) ORDER BY l.id) FROM locked l) AS locked FROM locked c WHERE c.id = $2`,
  queueId: '(SELECT queue_id FROM target)',
  channel: '(SELECT channel FROM target)',
  passed: '(SELECT offer_passed_agent_ids FROM target)::int[]',
  limit: '$3',
  include: "'{}'::int[]",
  extra: `CASE WHEN x.id IS NOT DISTINCT FROM (SELECT min(id) FROM chosen) THEN t.locked END AS locked, t.channel AS target_channel,`,
});

// $1 queue, $2 channel, $3 passed, $4 limit, $5 include.
const QUEUE_CANDIDATES_SQL = candidatesSql({ target: 'SELECT 1', queueId: '$1::int', channel: '$2::text', passed: '$3::int[]', limit: '$4', include: '$5::int[]' });

/**
 * What a decision knows of a queue's members: all of them (`complete`), or (read under the lock
 * by candidates()) the best eligible ones, with `cut` when more eligible members may follow
 * unread: the last read in the strategy's order, as read, and the queue's last assigned agent
 * then (see precedesUnread).
 */
export interface CandidatePool {
  queue: QueueRow;
  /** By id. */
  members: Member[];
  complete: boolean;
  cut: { boundary: Candidate; pointer: number | null } | null;
}

/** Options of a read under the lock: how many eligible members at most, and agents to read whatever their rank. */
export interface CandidateRead {
  limit: number;
  include?: number[];
}

type CandidateRecord = MemberRecord & { queue: QueueRow; tx_now: Date; member_count: number; ranked_count: number; ranked: boolean };

const AGENTS_SQL = `
  SELECT ${CANDIDATE_COLUMNS} FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE a.id = ANY($1::int[]) ORDER BY a.id`;

/**
 * The read model of a decision: a queue, its members and their live load (agents, presence,
 * queue membership and active conversations joined). Reads only; nothing here writes.
 */
@Injectable()
export class CandidatesRepository {
  /**
   * Under the allocation lock: the conversation (row-locked), its queue and the members a decision
   * needs (candidatesSql), in one round trip; the read's cost does not grow with the queue's size
   * beyond judging its members in the database.
   */
  async lockedCandidates(manager: EntityManager, conversationId: number, read: CandidateRead): Promise<{ conversation: ConversationRow; pool: CandidatePool; now: Date }> {
    const rows: (CandidateRecord & { conversation: ConversationRow })[] = await manager.query(LOCKED_CANDIDATES_SQL, [conversationId, read.limit, read.include ?? []]);
    if (!rows.length) throw Errors.noSuchConversation();
    const conversation = { ...rows[0].conversation, ...timestampsOf(rows[0].conversation) };
    return { conversation, pool: toPool(rows, read.limit), now: rows[0].tx_now };
  }

  /** As lockedCandidates, for a conversation on `channel` in queue `queueId` that `passed` declined or missed. */
  async candidates(manager: EntityManager, queueId: number, channel: string, passed: readonly number[], read: CandidateRead): Promise<{ pool: CandidatePool; now: Date }> {
    const rows: CandidateRecord[] = await manager.query(QUEUE_CANDIDATES_SQL, [queueId, channel, passed, read.limit, read.include ?? []]);
    if (!rows.length) throw Errors.noSuchQueue();
    return { pool: toPool(rows, read.limit), now: rows[0].tx_now };
  }

  /** The queue and its members' live load in one round trip (`now`: the transaction's). */
  async queueWithMembers(manager: EntityManager, queueId: number): Promise<{ queue: QueueRow; members: Member[]; now: Date }> {
    const rows: (MemberRecord & { queue: QueueRow; tx_now: Date })[] = await manager.query(QUEUE_WITH_MEMBERS_SQL, [queueId]);
    if (!rows.length) throw Errors.noSuchQueue();
    return { queue: rows[0].queue, members: rows.filter((r) => r.id !== null).map(toMember), now: rows[0].tx_now };
  }

  /**
   * Under the allocation lock: row-locks the conversations of a batch of decisions (as
   * lockConversations) and reads the candidates of the queue and channel of one of them (`first`,
   * as lockedCandidates), in one round trip. Null when that conversation or its queue is gone
   * (nothing was read: the caller locks apart).
   */
  async lockConversationsWithCandidates(manager: EntityManager, ids: number[], first: number, read: CandidateRead): Promise<{ conversations: ConversationRow[]; channel: string; pool: CandidatePool; now: Date } | null> {
    const rows: (CandidateRecord & { locked: ConversationRow[] | null; target_channel: string })[] = await manager.query(BATCH_CANDIDATES_SQL, [ids, first, read.limit]);
    if (!rows.length || !rows[0].locked) return null;
    const conversations = rows[0].locked.map((c) => ({ ...c, ...timestampsOf(c) }));
    return { conversations, channel: rows[0].target_channel, pool: toPool(rows, read.limit), now: rows[0].tx_now };
  }

  /** Row-locks the conversations a batch of decisions is about, in id order (one statement, no deadlock between batches). */
  async lockConversations(manager: EntityManager, ids: number[]): Promise<ConversationRow[]> {
    return manager.query(LOCK_CONVERSATIONS_SQL, [ids]);
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
function timestampsOf(row: ConversationRow): Pick<ConversationRow, 'created_at' | 'waiting_since' | 'assigned_at' | 'resolved_at' | 'first_assigned_at' | 'first_response_at' | 'offer_expires_at'> {
  const date = (v: Date | string | null | undefined) => (v === null || v === undefined ? null : new Date(v));
  return {
    created_at: date(row.created_at)!,
    waiting_since: date(row.waiting_since),
    assigned_at: date(row.assigned_at),
    resolved_at: date(row.resolved_at),
    first_assigned_at: date(row.first_assigned_at),
    first_response_at: date(row.first_response_at),
    offer_expires_at: date(row.offer_expires_at),
  };
}

function toPool(rows: CandidateRecord[], limit: number): CandidatePool {
  const queue = rows[0].queue;
  const read = rows.filter((r) => r.id !== null);
  const members = read.map(toMember);
  const ranked = members.filter((_, i) => read[i].ranked);
  // Cut at the limit: the last of the ranked ones in the strategy's order (SQL's and orderByStrategy's agree).
  const last = rows[0].ranked_count >= limit ? orderByStrategy(queue.strategy, ranked, queue.last_assigned_agent_id).pop() : undefined;
  return {
    queue,
    members,
    complete: rows[0].member_count === members.length,
    cut: last ? { boundary: { ...last }, pointer: queue.last_assigned_agent_id } : null,
  };
}

/** A read of every member: nothing unread. */
export function wholePool(queue: QueueRow, members: Member[]): CandidatePool {
  return { queue, members, complete: true, cut: null };
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

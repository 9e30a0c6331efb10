import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { LockKey } from '@cc/database';
import {
  acceptOfferSql,
  assignConversationSql,
  assignConversationsSql,
  ConversationRow,
  endOffersSql,
  joinWaitingLineSql,
  joinWaitingLinesSql,
  offerConversationSql,
  positionOfSql,
  waitingOrderSql,
} from '@cc/conversations';
import { availableSql, heldCountSql, markAssignedSql, markManyAssignedSql } from '@cc/presence';
import { markQueueAssignedSql, markQueuesAssignedSql } from '@cc/queues';
import { AllocationOutcome, CandidateVerdict, OfferEndOutcome } from './allocation-decision.entity';
import { channelHasRoomSql, servesChannelSql } from './strategies';

/** One row of `allocation_decisions` as the decision writes it. */
export interface DecisionRecord {
  conversationId: number;
  trigger: string;
  strategy: string;
  candidates: CandidateVerdict[];
  outcome: AllocationOutcome;
  agentId: number | null;
}

/** A row of `allocation_decisions`. */
export interface DecisionRow {
  at: Date;
  trigger: string;
  strategy: string;
  candidates: CandidateVerdict[];
  outcome: AllocationOutcome;
  agent_id: number | null;
}

const INSERT_DECISION = `INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id) VALUES ($1, $2, $3, $4, $5, $6)`;

/** Members that could take a conversation now: logged in, not paused, out of wrap-up, holding fewer slots (offered + active) than their capacity; with their free slots. */
const FREE_AGENTS_SQL = `
  SELECT a.id, a.max_concurrent - h.held AS room FROM agents a JOIN agent_presence p ON p.agent_id = a.id
  CROSS JOIN LATERAL (SELECT ${heldCountSql('a.id')} AS held) h
  WHERE ${availableSql('p', 'a', 'h.held')}`;

/**
 * The oldest waiting conversations (higher queue priority first) that one of the free agents ($2,
 * with their free slots $4) may take, at most $3, and in each queue at most its free members'
 * slots. Each queue's line is walked in its own order on its index (conversations_waiting) until
 * that many conversations a free member may take, then the heads of the queues are merged: the
 * same first conversations as ordering every waiting conversation of every queue, without judging
 * them all (10,000 waiting cost one membership check each per drain step).
 */
const SERVICEABLE_SQL = `
  WITH free AS (SELECT * FROM unnest($2::int[], $4::int[]) AS f(agent_id, room))
  SELECT h.*, q.webhook_url FROM queues q
  CROSS JOIN LATERAL (SELECT sum(f.room)::int AS room FROM free f JOIN queue_members m ON m.agent_id = f.agent_id AND m.queue_id = q.id) r
  CROSS JOIN LATERAL (
    SELECT c.* FROM conversations c
    WHERE c.queue_id = q.id AND c.status = 'queued' AND NOT (c.id = ANY($1::int[]))
      AND EXISTS (
        SELECT 1 FROM queue_members m JOIN agents a ON a.id = m.agent_id
        WHERE m.queue_id = c.queue_id AND m.agent_id = ANY($2::int[])
          AND ${servesChannelSql('a', 'c.channel')}
          AND ${channelHasRoomSql('a', 'c.channel', heldCountSql('a.id', 'c.channel'))})
    ORDER BY ${waitingOrderSql('c')}
    LIMIT least($3, r.room)
  ) h
  WHERE r.room > 0
  ORDER BY q.priority DESC, ${waitingOrderSql('h')}
  LIMIT $3`;

/** A waiting conversation the drain found serviceable, with its queue's webhook (null: decided by the queue's strategy). */
export type ServiceableRow = ConversationRow & { webhook_url: string | null };

/** An agent that could take a conversation now, and how many more it could hold. */
export interface FreeAgent {
  id: number;
  room: number;
}

/** One decision of a batch written by recordDecisions: an assignment (agentId) or a wait (entry: its wait starts now). */
export interface BatchedDecision extends DecisionRecord {
  queueId: number;
  entry: boolean;
}

/**
 * A batch's assignments and waits in one statement: their decision rows, the conversations
 * assigned or placed in their lines (in the batch's order), the agents' last assignment and the
 * queues' round-robin marks. Answers the rows written, in no particular order.
 */
const RECORD_DECISIONS_SQL = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(ord int, conversation_id int, agent_id int, queue_id int, trigger text, strategy text, candidates jsonb, outcome text, entry boolean)
  ), took AS (
    SELECT * FROM input WHERE agent_id IS NOT NULL
  ), waits AS (
    SELECT * FROM input WHERE agent_id IS NULL
  ), decision AS (
    INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id)
    SELECT conversation_id, trigger, strategy, candidates, outcome, agent_id FROM input ORDER BY ord
  ), assigned AS (
    ${assignConversationsSql('took')}
  ), waiting AS (
    ${joinWaitingLinesSql('waits')}
  ), presence AS (
    ${markManyAssignedSql('SELECT agent_id FROM took')}
  ), queue AS (
    ${markQueuesAssignedSql('took')}
  )
  SELECT * FROM assigned UNION ALL SELECT * FROM waiting`;

/** An offer that ended unaccepted: the conversation (waiting again) and the agent it was offered to. */
export type EndedOffer = ConversationRow & { offered_agent_id: number; pause_on_missed_offer: boolean };

/** Which offers to end. */
export type OfferFilter =
  | { kind: 'declined'; conversationId: number; agentId: number }
  /** One conversation's offer if its deadline has passed (its timer), or every such offer (the sweep). */
  | { kind: 'expired'; conversationId?: number; limit: number }
  | { kind: 'agent'; agentId: number };

function params(d: DecisionRecord): unknown[] {
  return [d.conversationId, d.trigger, d.strategy, JSON.stringify(d.candidates), d.outcome, d.agentId];
}

/**
 * The decision log's row for how an offer ended (accepted, declined, expired, revoked, withdrawn)
 * for each row of `rows` (columns id, queue_id and `agent`): no candidates, the offer's own
 * decision listed them.
 */
function offerAnswerDecisionSql(rows: string, trigger: string, outcome: string, agent: string): string {
  return `INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id)
         SELECT r.id, ${trigger}, coalesce(q.strategy, 'none'), '[]', ${outcome}, r.${agent} FROM ${rows} r LEFT JOIN queues q ON q.id = r.queue_id`;
}

/**
 * The SQL of allocation: its lock, its decisions (the table `allocation_decisions` is this
 * library's), and the drain's two questions. A decision is one statement: the decision row plus
 * the owners' own writes (conversations, agent_presence, queues), composed from the fragments
 * their repositories export, so the assignment costs one round trip under the lock.
 */
@Injectable()
export class AllocationRepository {
  /**
   * Takes the cluster-wide allocation lock for the rest of the transaction, with an asynchronous
   * commit (see DecisionQueue). One round trip, parameterless on purpose (the simple protocol
   * takes two statements).
   */
  async lockForDecisions(manager: EntityManager): Promise<void> {
    await manager.query(`SET LOCAL synchronous_commit = off; SELECT pg_advisory_xact_lock(${LockKey.Allocation}, 0)`);
  }

  /** The decision, the assignment and the agent's and queue's bookkeeping in one round trip. */
  async recordAssignment(manager: EntityManager, decision: DecisionRecord & { agentId: number }, queueId: number): Promise<ConversationRow> {
    const rows: ConversationRow[] = await manager.query(
      `WITH decision AS (
         ${INSERT_DECISION}
       ), assigned AS (
         ${assignConversationSql('$1', '$6')}
       ), presence AS (
         ${markAssignedSql('$6')}
       ), queue AS (
         ${markQueueAssignedSql('$7', '$6')}
       )
       SELECT * FROM assigned`,
      [...params(decision), queueId],
    );
    return rows[0];
  }

  /** A batch of assignments and waits in one round trip (RECORD_DECISIONS_SQL); the rows by conversation id. */
  async recordDecisions(manager: EntityManager, decisions: BatchedDecision[]): Promise<Map<number, ConversationRow>> {
    const input = decisions.map((d, ord) => ({
      ord,
      conversation_id: d.conversationId,
      agent_id: d.agentId,
      queue_id: d.queueId,
      trigger: d.trigger,
      strategy: d.strategy,
      candidates: d.candidates,
      outcome: d.outcome,
      entry: d.entry,
    }));
    const rows: ConversationRow[] = await manager.query(RECORD_DECISIONS_SQL, [JSON.stringify(input)]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** The decision to offer, the offer (it holds the agent's slot until it ends) and the bookkeeping, in one round trip. */
  async recordOffer(manager: EntityManager, decision: DecisionRecord & { agentId: number }, queueId: number, seconds: number): Promise<ConversationRow> {
    const rows: ConversationRow[] = await manager.query(
      `WITH decision AS (
         ${INSERT_DECISION}
       ), offered AS (
         ${offerConversationSql('$1', '$6', '$8')}
       ), presence AS (
         ${markAssignedSql('$6')}
       ), queue AS (
         ${markQueueAssignedSql('$7', '$6')}
       )
       SELECT * FROM offered`,
      [...params(decision), queueId, seconds],
    );
    return rows[0];
  }

  /** The offered agent accepts before the deadline, and the decision log says so; null when there is no such offer. */
  async recordAccept(manager: EntityManager, conversationId: number, agentId: number): Promise<ConversationRow | null> {
    const rows: ConversationRow[] = await manager.query(
      `WITH accepted AS (
         ${acceptOfferSql('$1', '$2')}
       ), decision AS (
         ${offerAnswerDecisionSql('accepted', `'offer-accepted'`, `'accepted'`, 'agent_id')}
       )
       SELECT * FROM accepted`,
      [conversationId, agentId],
    );
    return rows[0] ?? null;
  }

  /** The decision log's end of an offer that was never answered because its conversation was resolved (caller holds the conversation's row lock). */
  async recordOfferWithdrawn(manager: EntityManager, conversationId: number, agentId: number, trigger: string): Promise<void> {
    await manager.query(
      `WITH withdrawn AS (SELECT id, queue_id, $2::int AS agent_id FROM conversations WHERE id = $1)
       ${offerAnswerDecisionSql('withdrawn', '$3', `'offer-revoked'`, 'agent_id')}`,
      [conversationId, agentId, trigger],
    );
  }

  /**
   * Ends the offers the filter names, each with a decision `outcome` for the agent it was offered
   * to, in one statement. Expiry skips rows another transaction holds (an accept in flight): that
   * one decides, and the next sweep looks again.
   */
  async recordOffersEnded(manager: EntityManager, filter: OfferFilter, outcome: OfferEndOutcome, trigger: string): Promise<EndedOffer[]> {
    const values: unknown[] = [outcome, trigger];
    const param = (value: unknown) => `$${values.push(value)}`;
    let where: string;
    let tail = '';
    switch (filter.kind) {
      case 'declined':
        where = `id = ${param(filter.conversationId)} AND agent_id = ${param(filter.agentId)}`;
        break;
      case 'expired':
        where = `offer_expires_at <= now()${filter.conversationId === undefined ? '' : ` AND id = ${param(filter.conversationId)}`}`;
        tail = `LIMIT ${param(filter.limit)} FOR UPDATE SKIP LOCKED`;
        break;
      case 'agent':
        where = `agent_id = ${param(filter.agentId)}`;
        tail = 'FOR UPDATE';
        break;
    }
    return manager.query(
      `WITH ${endOffersSql(where, tail, outcome !== 'offer-revoked')}, decision AS (
         ${offerAnswerDecisionSql('ended', '$2', '$1', 'offered_agent_id')}
       )
       SELECT e.*, coalesce(q.pause_on_missed_offer, false) AS pause_on_missed_offer
       FROM ended e LEFT JOIN queues q ON q.id = e.queue_id ORDER BY e.id`,
      values,
    );
  }

  /**
   * The decision to leave the conversation waiting, and its place in the line from `since` (an
   * SQL expression) on. Under the lock every conversation that joined earlier has committed: the
   * position counted in the same statement is final.
   */
  async recordWaiting(manager: EntityManager, decision: DecisionRecord, since: string): Promise<ConversationRow & { position: number }> {
    const [waiting]: (ConversationRow & { position: number })[] = await manager.query(
      `WITH decision AS (
         ${INSERT_DECISION}
       ), waiting AS (
         ${joinWaitingLineSql('$1', since)}
       )
       SELECT waiting.*, ${positionOfSql('waiting')} AS position
       FROM waiting`,
      params(decision),
    );
    return waiting;
  }

  async decisionsOf(manager: EntityManager, conversationId: number): Promise<DecisionRow[]> {
    return manager.query(`SELECT * FROM allocation_decisions WHERE conversation_id = $1 ORDER BY id`, [conversationId]);
  }

  async freeAgents(manager: EntityManager): Promise<FreeAgent[]> {
    return manager.query(FREE_AGENTS_SQL);
  }

  /** The next `limit` conversations the `free` agents may take, in the line's order, skipping those already `tried`. */
  async serviceable(manager: EntityManager, tried: number[], free: FreeAgent[], limit: number): Promise<ServiceableRow[]> {
    return manager.query(SERVICEABLE_SQL, [tried, free.map((f) => f.id), limit, free.map((f) => f.room)]);
  }

  /** What a webhook is told about the customer. */
  async customerOf(manager: EntityManager, customerId: number): Promise<unknown> {
    const rows: unknown[] = await manager.query(`SELECT id, name, email, external_id AS "externalId" FROM customers WHERE id = $1`, [customerId]);
    return rows[0] ?? null;
  }
}

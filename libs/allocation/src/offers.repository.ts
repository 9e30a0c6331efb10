import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { returnedRows } from '@cc/database';
import { OfferEndOutcome } from './allocation-decision.entity';
import { ConversationRow } from './conversation-row';

/** An offer that ended unaccepted: the conversation (waiting again) and the agent it was offered to. */
export type EndedOffer = ConversationRow & { offered_agent_id: number; pause_on_missed_offer: boolean };

/** Which offers to end. */
export type OfferFilter =
  | { kind: 'declined'; conversationId: number; agentId: number }
  /** One conversation's offer if its deadline has passed (its timer), or every such offer (the sweep). */
  | { kind: 'expired'; conversationId?: number; limit: number }
  | { kind: 'agent'; agentId: number };

/**
 * SQL of offers. Each change is one conditional statement on the conversation row, so that an
 * accept, a decline and an expiry racing for one offer serialise on its row lock and exactly one
 * of them finds it still offered. Every end is recorded in the decision log in the same statement.
 */
@Injectable()
export class OffersRepository {
  /** The offered agent accepts before the deadline: the conversation becomes active. Null when there is no such offer. */
  async accept(manager: EntityManager, conversationId: number, agentId: number): Promise<ConversationRow | null> {
    const rows: ConversationRow[] = await manager.query(
      `WITH accepted AS (
         UPDATE conversations SET status = 'active', assigned_at = now(), offer_expires_at = NULL
         WHERE id = $1 AND agent_id = $2 AND status = 'offered' AND offer_expires_at > now()
         RETURNING *
       ), decision AS (
         INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id)
         SELECT a.id, 'offer-accepted', coalesce(q.strategy, 'none'), '[]', 'accepted', a.agent_id
         FROM accepted a LEFT JOIN queues q ON q.id = a.queue_id
       )
       SELECT * FROM accepted`,
      [conversationId, agentId],
    );
    return rows[0] ?? null;
  }

  /**
   * Ends the offers the filter names: each conversation waits again (it keeps `waiting_since`, so
   * it is at the front of its line), and a decision with `outcome` is logged for the agent it was
   * offered to. A decline or an expiry also remembers that agent, so others are preferred next.
   * Expiry skips rows another transaction holds (an accept in flight): the next sweep looks again.
   */
  async end(manager: EntityManager, filter: OfferFilter, outcome: OfferEndOutcome, trigger: string): Promise<EndedOffer[]> {
    const params: unknown[] = [outcome, trigger];
    const param = (value: unknown) => `$${params.push(value)}`;
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
    const remember = outcome !== 'offer-revoked';
    return returnedRows<EndedOffer>(
      await manager.query(
        `WITH old AS (
           SELECT id, agent_id FROM conversations WHERE status = 'offered' AND ${where} ORDER BY id ${tail}
         ), ended AS (
           UPDATE conversations c SET status = 'queued', agent_id = NULL, offer_expires_at = NULL,
             waiting_since = coalesce(c.waiting_since, c.created_at),
             offer_passed_agent_ids = ${remember ? 'array_append(array_remove(c.offer_passed_agent_ids, old.agent_id), old.agent_id)' : 'c.offer_passed_agent_ids'}
           FROM old WHERE c.id = old.id AND c.status = 'offered' AND c.agent_id = old.agent_id
           RETURNING c.*, old.agent_id AS offered_agent_id
         ), decision AS (
           INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id)
           SELECT e.id, $2, coalesce(q.strategy, 'none'), '[]', $1, e.offered_agent_id
           FROM ended e LEFT JOIN queues q ON q.id = e.queue_id
         )
         SELECT e.*, coalesce(q.pause_on_missed_offer, false) AS pause_on_missed_offer
         FROM ended e LEFT JOIN queues q ON q.id = e.queue_id ORDER BY e.id`,
        params,
      ),
    );
  }

  /** The conversation's current row (no lock), to tell "no such conversation" from "no offer". */
  async find(manager: EntityManager, conversationId: number): Promise<ConversationRow | null> {
    const rows: ConversationRow[] = await manager.query(`SELECT * FROM conversations WHERE id = $1`, [conversationId]);
    return rows[0] ?? null;
  }

  async agentName(manager: EntityManager, agentId: number): Promise<string> {
    const rows: { name: string }[] = await manager.query(`SELECT name FROM agents WHERE id = $1`, [agentId]);
    return rows[0]?.name ?? '';
  }
}

import { Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Actor, Role, SenderType } from '@cc/common';
import { BatchQueue, conversationJsonSql, customerJsonSql, messageJsonSql, outboxInsertSql, OutboxSubscriptions, Settled } from '@cc/database';

export interface MessageRow {
  id: string;
  conversation_id: number;
  sender_type: SenderType;
  sender_id: number | null;
  text: string;
  client_message_id: string | null;
  created_at: Date;
}

export interface WriteRequest {
  conversationId: number;
  role: Role;
  senderId: number;
  text: string;
  clientMessageId: string | null;
  /** Who to name as the actor of its message.created event. */
  actor: Actor;
}

/** The stored row with the conversation's parties, or null when nothing was stored (see MessagesService for why). */
export type WriteResult = (MessageRow & { customer_id: number; agent_id: number | null }) | null;

const MAX_BATCH = 500;

/*
 * One statement stores a whole batch, and authorises each row in it: only its customer, its
 * current agent or an admin may write, and never into a resolved conversation. The same
 * statement writes the batch's message.created events to the outbox (when a subscription wants
 * them), so a message and its event commit together. While message.created is subscribed, the
 * batch first locks its conversations (in id order, so batches cannot deadlock each other):
 * every change of a conversation (assignment, resolve, transfer, another instance's message)
 * holds a conflicting row lock until it commits, so the events of one conversation get their
 * ids in commit order and the dispatcher can never see a later event before an earlier one.
 */
function insertBatchSql(lockForOrder: boolean): string {
  const conversations = lockForOrder
    ? `(SELECT * FROM conversations WHERE id IN (SELECT conversation_id FROM v) ORDER BY id FOR NO KEY UPDATE)`
    : `conversations`;
  return `
  WITH v AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[])
      AS v(conversation_id, role, sender_id, text, client_message_id, ord, actor_type, actor_id)
  ), c AS MATERIALIZED (
    SELECT * FROM ${conversations} c WHERE c.id IN (SELECT conversation_id FROM v)
  ), ins AS (
    INSERT INTO messages (conversation_id, sender_type, sender_id, text, client_message_id)
    SELECT v.conversation_id, CASE v.role WHEN 'admin' THEN 'system' ELSE v.role END, v.sender_id, v.text, v.client_message_id
    FROM v JOIN c ON c.id = v.conversation_id
    WHERE c.status <> 'resolved'
      AND (v.role = 'admin' OR (v.role = 'customer' AND c.customer_id = v.sender_id) OR (v.role = 'agent' AND c.agent_id = v.sender_id))
    ORDER BY v.ord
    ON CONFLICT (conversation_id, sender_type, sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING *
  ), events AS (
    SELECT ins.id AS ord, 'message.created'::text AS type, ins.conversation_id, c.channel,
      (SELECT jsonb_build_object('type', v.actor_type, 'id', v.actor_id) FROM v
        WHERE v.conversation_id = ins.conversation_id AND v.sender_id IS NOT DISTINCT FROM ins.sender_id AND v.text = ins.text
          AND v.client_message_id IS NOT DISTINCT FROM ins.client_message_id ORDER BY v.ord LIMIT 1) AS actor,
      jsonb_build_object('message', ${messageJsonSql('ins')}, 'conversation', ${conversationJsonSql('c')}, 'customer', ${customerJsonSql('c')}) AS data
    FROM ins JOIN c ON c.id = ins.conversation_id
  ), ${outboxInsertSql('events')}
  SELECT ins.*, c.customer_id, c.agent_id FROM ins JOIN c ON c.id = ins.conversation_id ORDER BY ins.id`;
}

const PLAIN_SQL = insertBatchSql(false);
const ORDERED_SQL = insertBatchSql(true);
const DEADLOCK = '40P01';

/**
 * Group commit: messages that arrive while a write is in flight are stored together by the
 * next one, in a single statement and transaction. Each caller still resolves only after its
 * row is committed, so a message is durable before it is acknowledged or pushed; an idle
 * system writes each message at once, a busy one pays one commit per batch instead of per message.
 */
@Injectable()
export class MessageWriter {
  // One batch at a time (BatchQueue's rule), on purpose: ids are taken and committed in the same
  // order, so a client that saw message N and syncs after N can never miss an earlier id.
  private readonly batches = new BatchQueue<WriteRequest, WriteResult>((batch) => this.insert(batch), MAX_BATCH);

  constructor(
    private readonly dataSource: DataSource,
    private readonly subscriptions: OutboxSubscriptions,
  ) {}

  write(request: WriteRequest): Promise<WriteResult> {
    return this.batches.push(request);
  }

  private async insert(batch: WriteRequest[]): Promise<Settled<WriteResult>[]> {
    // A named statement is parsed and planned once per connection, not once per batch.
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const ordered = this.subscriptions.wants('message.created');
    const query = ordered ? { name: 'cc_insert_messages_ordered', text: ORDERED_SQL } : { name: 'cc_insert_messages', text: PLAIN_SQL };
    let result;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await pool.query({ ...query, values: columns(batch) });
        break;
      } catch (err) {
        // The statement is atomic: after a deadlock nothing was stored and it may simply run again.
        if ((err as { code?: string }).code !== DEADLOCK || attempt >= 3) throw err;
      }
    }
    return this.settle(batch, result.rows).map((value) => ({ ok: true, value }));
  }

  /** Hands each caller its row; identical requests in one batch get rows in insertion order. */
  private settle(batch: WriteRequest[], rows: NonNullable<WriteResult>[]): WriteResult[] {
    const used = new Set<NonNullable<WriteResult>>();
    return batch.map((p) => {
      const senderType = p.role === 'admin' ? 'system' : p.role;
      const row = rows.find(
        (r) =>
          !used.has(r) &&
          r.conversation_id === p.conversationId &&
          r.sender_type === senderType &&
          r.sender_id === p.senderId &&
          r.client_message_id === p.clientMessageId &&
          r.text === p.text,
      );
      if (row) used.add(row);
      return row ?? null;
    });
  }
}

function columns(batch: WriteRequest[]): unknown[] {
  return [
    batch.map((p) => p.conversationId),
    batch.map((p) => p.role),
    batch.map((p) => p.senderId),
    batch.map((p) => p.text),
    batch.map((p) => p.clientMessageId),
    batch.map((_, i) => i),
    batch.map((p) => p.actor.type),
    batch.map((p) => p.actor.id),
  ];
}

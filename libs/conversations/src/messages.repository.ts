import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, Role, SenderType } from '@cc/common';
import { conversationJsonSql, customerJsonSql, isoTextSql, messageJsonSql, outboxInsertSql, WriterPool } from '@cc/database';

/** A `messages` row as raw SQL returns it; the one row type of the table. */
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

/**
 * A stored row with the conversation's parties, as the message statement returns it: its
 * `created_at` already the view's ISO text (isoTextSql), so no `Date` is parsed and formatted
 * again per message.
 */
export type StoredMessageRow = Omit<MessageRow, 'created_at'> & { created_at: string; customer_id: number; agent_id: number | null };

/*
 * One statement stores a whole batch, and authorises each row in it: only its customer, its
 * current agent (once it has accepted an offer) or an admin may write, and never into a resolved conversation. The same
 * statement writes the batch's message.created events to the outbox (when a subscription wants
 * them), so a message and its event commit together. It first locks the batch's conversations (in id order, so batches cannot deadlock each other): every change of a
 * conversation (assignment, resolve, transfer, another instance's message) holds a conflicting
 * row lock until it commits, so the events of one conversation get their ids in commit order
 * and the dispatcher never sees a later event before an earlier one is committed.
 */
const INSERT_BATCH_SQL = `
  WITH v AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[])
      AS v(conversation_id, role, sender_id, text, client_message_id, ord, actor_type, actor_id)
  ), c AS MATERIALIZED (
    SELECT * FROM conversations WHERE id = ANY($1::int[]) ORDER BY id FOR NO KEY UPDATE
  ), allowed AS (
    SELECT v.* FROM v JOIN c ON c.id = v.conversation_id
    WHERE c.status <> 'resolved'
      AND (v.role = 'admin' OR (v.role = 'customer' AND c.customer_id = v.sender_id) OR (v.role = 'agent' AND c.agent_id = v.sender_id AND c.status <> 'offered'))
    ORDER BY v.ord
  ), numbered AS (
    -- Ids taken here, in arrival order, so each stored row is matched back to its request by
    -- position (ord), never by comparing texts (what is stored must be what was asked).
    SELECT nextval('messages_id_seq'::regclass) AS id, allowed.* FROM allowed
  ), ins AS (
    INSERT INTO messages (id, conversation_id, sender_type, sender_id, text, client_message_id)
    SELECT n.id, n.conversation_id, CASE n.role WHEN 'admin' THEN 'system' ELSE n.role END, n.sender_id, n.text, n.client_message_id
    FROM numbered n ORDER BY n.ord
    ON CONFLICT (conversation_id, sender_type, sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING *
  ), events AS (
    SELECT ins.id AS ord, 'message.created'::text AS type, ins.conversation_id, c.channel,
      (SELECT jsonb_build_object('type', n.actor_type, 'id', n.actor_id) FROM numbered n WHERE n.id = ins.id) AS actor,
      jsonb_build_object('message', ${messageJsonSql('ins')}, 'conversation', ${conversationJsonSql('c')}, 'customer', ${customerJsonSql('c')}) AS data
    FROM ins JOIN c ON c.id = ins.conversation_id
  ), first_response AS (
    -- The first agent message after the first assignment, recorded for the statistics (API.md 13).
    -- Judged on the locked rows (c: their latest versions, unchanged until this commit), so the
    -- update visits only the conversations it changes rather than scanning for them.
    UPDATE conversations u SET first_response_at = f.created_at, first_response_agent_id = f.sender_id
    FROM (SELECT DISTINCT ON (ins.conversation_id) ins.conversation_id, ins.sender_id, ins.created_at FROM ins JOIN c ON c.id = ins.conversation_id
      WHERE ins.sender_type = 'agent' AND c.first_response_at IS NULL AND c.first_assigned_at IS NOT NULL ORDER BY ins.conversation_id, ins.id) f
    WHERE u.id = f.conversation_id
  ), ${outboxInsertSql('events')}
  SELECT ins.id, ins.conversation_id, ins.sender_type, ins.sender_id, ins.text, ins.client_message_id, ${isoTextSql('ins.created_at')} AS created_at,
    n.ord, c.customer_id, c.agent_id
  FROM ins JOIN numbered n ON n.id = ins.id JOIN c ON c.id = ins.conversation_id ORDER BY ins.id`;

function batchParams(batch: WriteRequest[]): unknown[] {
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

/** For each request in order, its stored row or null (rows are matched back by position). */
function byPosition(batch: WriteRequest[], rows: (StoredMessageRow & { ord: number })[]): (StoredMessageRow | null)[] {
  const stored = new Map<number, StoredMessageRow>();
  for (const { ord, ...row } of rows) stored.set(ord, row);
  return batch.map((_, i) => stored.get(i) ?? null);
}

/** Every SQL statement on `messages` (the table of this library). */
@Injectable()
export class MessagesRepository {
  constructor(private readonly writers: WriterPool) {}

  /**
   * Stores a batch in one statement (a named prepared statement on the message writer's own
   * connections, WriterPool, outside any transaction), with its message.created events, under
   * the conversations' row locks.
   * Answers, for each request in order, its stored row or null when nothing was stored.
   */
  async insertBatch(batch: WriteRequest[]): Promise<(StoredMessageRow | null)[]> {
    return byPosition(batch, await this.writers.query<StoredMessageRow & { ord: number }>('cc_insert_messages', INSERT_BATCH_SQL, batchParams(batch)));
  }

  /**
   * The same statement for one message in the caller's transaction (taking the conversation's
   * row lock, as a batch does); null when nothing was stored.
   */
  async insertOne(manager: EntityManager, request: WriteRequest): Promise<StoredMessageRow | null> {
    return byPosition([request], await manager.query(INSERT_BATCH_SQL, batchParams([request])))[0];
  }

  async byClientMessageId(manager: EntityManager, conversationId: number, senderType: SenderType, senderId: number, clientMessageId: string): Promise<MessageRow | null> {
    const rows: MessageRow[] = await manager.query(
      `SELECT * FROM messages WHERE conversation_id = $1 AND sender_type = $2 AND sender_id = $3 AND client_message_id = $4`,
      [conversationId, senderType, senderId, clientMessageId],
    );
    return rows[0] ?? null;
  }

  /** Up to `limit` messages before `beforeId`, newest first. */
  before(manager: EntityManager, conversationId: number, beforeId: number, limit: number): Promise<MessageRow[]> {
    return manager.query(`SELECT * FROM messages WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [conversationId, beforeId, limit]);
  }

  /** Up to `limit` messages after `afterId`, oldest first. */
  after(manager: EntityManager, conversationId: number, afterId: number, limit: number): Promise<MessageRow[]> {
    return manager.query(`SELECT * FROM messages WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3`, [conversationId, afterId, limit]);
  }
}

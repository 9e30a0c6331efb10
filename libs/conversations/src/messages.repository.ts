import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Role, SenderType } from '@cc/common';
import { namedQuery } from '@cc/database';

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
}

/** A stored row with the conversation's parties. */
export type StoredMessageRow = MessageRow & { customer_id: number; agent_id: number | null };

/*
 * One statement stores a whole batch, and authorises each row in it: only its customer, its
 * current agent or an admin may write, and never into a resolved conversation.
 */
const INSERT_BATCH_SQL = `
  WITH v AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[])
      AS v(conversation_id, role, sender_id, text, client_message_id, ord)
  ), ins AS (
    INSERT INTO messages (conversation_id, sender_type, sender_id, text, client_message_id)
    SELECT v.conversation_id, CASE v.role WHEN 'admin' THEN 'system' ELSE v.role END, v.sender_id, v.text, v.client_message_id
    FROM v JOIN conversations c ON c.id = v.conversation_id
    WHERE c.status <> 'resolved'
      AND (v.role = 'admin' OR (v.role = 'customer' AND c.customer_id = v.sender_id) OR (v.role = 'agent' AND c.agent_id = v.sender_id))
    ORDER BY v.ord
    ON CONFLICT (conversation_id, sender_type, sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING *
  ), first_response AS (
    -- The first agent message after the first assignment, recorded for the statistics (API.md 13).
    UPDATE conversations c SET first_response_at = f.created_at, first_response_agent_id = f.sender_id
    FROM (SELECT DISTINCT ON (conversation_id) conversation_id, sender_id, created_at FROM ins WHERE sender_type = 'agent' ORDER BY conversation_id, id) f
    WHERE c.id = f.conversation_id AND c.first_response_at IS NULL AND c.first_assigned_at IS NOT NULL
  )
  SELECT ins.*, c.customer_id, c.agent_id FROM ins JOIN conversations c ON c.id = ins.conversation_id ORDER BY ins.id`;

/** Every SQL statement on `messages` (the table of this library). */
@Injectable()
export class MessagesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a batch in one statement (a named prepared statement on the pool, outside any transaction). */
  insertBatch(batch: WriteRequest[]): Promise<StoredMessageRow[]> {
    return namedQuery<StoredMessageRow>(this.dataSource, 'cc_insert_messages', INSERT_BATCH_SQL, [
      batch.map((p) => p.conversationId),
      batch.map((p) => p.role),
      batch.map((p) => p.senderId),
      batch.map((p) => p.text),
      batch.map((p) => p.clientMessageId),
      batch.map((_, i) => i),
    ]);
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

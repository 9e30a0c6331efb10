import { Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Role, SenderType } from '@cc/common';
import { BatchQueue, Settled } from '@cc/database';

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

/** The stored row with the conversation's parties, or null when nothing was stored (see MessagesService for why). */
export type WriteResult = (MessageRow & { customer_id: number; agent_id: number | null }) | null;

const MAX_BATCH = 500;

/*
 * One statement stores a whole batch, and authorises each row in it: only its customer, its
 * current agent or an admin may write, and never into a resolved conversation. The same
 * statement records a conversation's first agent reply.
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

  constructor(private readonly dataSource: DataSource) {}

  write(request: WriteRequest): Promise<WriteResult> {
    return this.batches.push(request);
  }

  private async insert(batch: WriteRequest[]): Promise<Settled<WriteResult>[]> {
    // A named statement is parsed and planned once per connection, not once per batch.
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const result = await pool.query({ name: 'cc_insert_messages', text: INSERT_BATCH_SQL, values: columns(batch) });
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
  ];
}

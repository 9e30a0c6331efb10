import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { APP_CONFIG, AppConfig, Role, SenderType } from '@cc/common';
import { BatchQueue, isDatabaseUnavailable, Settled } from '@cc/database';

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
 * current agent or an admin may write, and never into a resolved conversation.
 */
const INSERT_BATCH_SQL = `
  WITH v AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[])
      AS v(conversation_id, role, sender_id, text, client_message_id, ord)
  ), allowed AS (
    SELECT v.* FROM v JOIN conversations c ON c.id = v.conversation_id
    WHERE c.status <> 'resolved'
      AND (v.role = 'admin' OR (v.role = 'customer' AND c.customer_id = v.sender_id) OR (v.role = 'agent' AND c.agent_id = v.sender_id))
    ORDER BY v.ord
  ), numbered AS (
    -- Ids taken here, in arrival order, so each stored row is matched back to its request by position (ord).
    SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS id, allowed.* FROM allowed
  ), ins AS (
    INSERT INTO messages (id, conversation_id, sender_type, sender_id, text, client_message_id)
    SELECT n.id, n.conversation_id, CASE n.role WHEN 'admin' THEN 'system' ELSE n.role END, n.sender_id, n.text, n.client_message_id
    FROM numbered n ORDER BY n.ord
    ON CONFLICT (conversation_id, sender_type, sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING *
  )
  SELECT ins.*, n.ord, c.customer_id, c.agent_id FROM ins JOIN numbered n ON n.id = ins.id JOIN conversations c ON c.id = ins.conversation_id ORDER BY ins.id`;

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
  private readonly batches: BatchQueue<WriteRequest, WriteResult>;

  constructor(private readonly dataSource: DataSource, @Inject(APP_CONFIG) config: AppConfig) {
    this.batches = new BatchQueue<WriteRequest, WriteResult>((batch) => this.insert(batch), MAX_BATCH, config.maxPendingWrites);
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.batches.push(request);
  }

  /** Messages accepted and not yet answered (a graceful shutdown waits for them). */
  get pending(): number {
    return this.batches.size;
  }

  idle(): Promise<void> {
    return this.batches.idle();
  }

  /**
   * A batch that fails as a whole (one row the database refuses) is retried row by row, so only
   * that row's sender gets the error. A database that cannot be reached fails every row at once:
   * retrying each would only multiply the wait.
   */
  private async insert(batch: WriteRequest[]): Promise<Settled<WriteResult>[]> {
    try {
      return (await this.run(batch)).map((value) => ({ ok: true, value }));
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) throw err;
    }
    const results: Settled<WriteResult>[] = [];
    for (const request of batch) {
      try {
        results.push({ ok: true, value: (await this.run([request]))[0] });
      } catch (error) {
        results.push({ ok: false, error });
      }
    }
    return results;
  }

  private async run(batch: WriteRequest[]): Promise<WriteResult[]> {
    // A named statement is parsed and planned once per connection, not once per batch.
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const result = await pool.query({ name: 'cc_insert_messages', text: INSERT_BATCH_SQL, values: columns(batch) });
    const byPosition = new Map<number, NonNullable<WriteResult>>();
    for (const { ord, ...row } of result.rows as (NonNullable<WriteResult> & { ord: number })[]) byPosition.set(ord, row);
    return batch.map((_, i) => byPosition.get(i) ?? null);
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

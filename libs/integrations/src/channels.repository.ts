import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface ChannelCustomerRow {
  id: number;
  name: string | null;
  email: string | null;
  external_id: string;
}

/** Every statement on channel_customers and channel_messages (what a connector's ids map to). */
@Injectable()
export class ChannelsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findCustomer(manager: EntityManager, channel: string, externalId: string): Promise<ChannelCustomerRow | null> {
    const rows: ChannelCustomerRow[] = await manager.query(
      `SELECT c.id, c.name, c.email, cc.external_id FROM channel_customers cc JOIN customers c ON c.id = cc.customer_id
       WHERE cc.channel = $1 AND cc.external_id = $2`,
      [channel, externalId],
    );
    return rows[0] ?? null;
  }

  async linkCustomer(manager: EntityManager, channel: string, externalId: string, customerId: number): Promise<void> {
    await manager.query(`INSERT INTO channel_customers (channel, external_id, customer_id) VALUES ($1, $2, $3)`, [channel, externalId, customerId]);
  }

  /** The message stored for this provider message id, if any. */
  async findMessage(manager: EntityManager, channel: string, externalMessageId: string): Promise<string | null> {
    const rows: { message_id: string }[] = await manager.query(
      `SELECT message_id FROM channel_messages WHERE channel = $1 AND external_message_id = $2`,
      [channel, externalMessageId],
    );
    return rows[0]?.message_id ?? null;
  }

  /** Records which message a provider message id became; answers the one recorded first (a concurrent post may have won). */
  async linkMessage(manager: EntityManager, channel: string, externalMessageId: string, messageId: number): Promise<string> {
    const rows: { message_id: string }[] = await manager.query(
      `WITH ins AS (
         INSERT INTO channel_messages (channel, external_message_id, message_id) VALUES ($1, $2, $3)
         ON CONFLICT (channel, external_message_id) DO NOTHING RETURNING message_id
       )
       SELECT message_id FROM ins UNION ALL SELECT message_id FROM channel_messages WHERE channel = $1 AND external_message_id = $2 LIMIT 1`,
      [channel, externalMessageId, messageId],
    );
    if (rows.length) return rows[0].message_id;
    // The conflicting row was committed after this statement's snapshot was taken, so its SELECT
    // could not see it; a new statement does.
    const recorded = await this.findMessage(manager, channel, externalMessageId);
    if (recorded === null) throw new Error(`channel_messages (${channel}, ${externalMessageId}) conflicted but cannot be read`);
    return recorded;
  }

  /** A stored message with its conversation's customer, as the inbound answer needs them. */
  async messageWithCustomer(messageId: string, channel: string): Promise<{ message: Record<string, unknown>; customer: ChannelCustomerRow } | null> {
    const rows: { message: Record<string, unknown>; id: number; name: string | null; email: string | null; external_id: string }[] = await this.dataSource.query(
      `SELECT to_jsonb(m) AS message, cu.id, cu.name, cu.email, coalesce(cc.external_id, cu.external_id) AS external_id
       FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN customers cu ON cu.id = c.customer_id
       LEFT JOIN channel_customers cc ON cc.customer_id = cu.id AND cc.channel = $2
       WHERE m.id = $1`,
      [messageId, channel],
    );
    if (!rows.length) return null;
    const { message, ...customer } = rows[0];
    return { message, customer };
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConflictError, ConversationStatus, DomainEvents, Errors, ForbiddenError, MessageView, Principal } from '@cc/common';
import { toInt, toIso } from '@cc/database';
import { ConversationRow } from '@cc/allocation';
import { assertCanSee } from './conversation-access';
import { MessageHistoryQuery, SendMessageDto } from './conversation.dto';
import { MessageRow, MessageWriter } from './message-writer';

const SYNC_LIMIT = 1000;

export function toMessageView(r: MessageRow): MessageView {
  return {
    id: toInt(r.id),
    conversationId: r.conversation_id,
    senderType: r.sender_type,
    senderId: r.sender_id,
    text: r.text,
    clientMessageId: r.client_message_id,
    createdAt: toIso(r.created_at)!,
  };
}

/** Messages: stored before they are acknowledged or pushed; retries with a clientMessageId stored once. */
@Injectable()
export class MessagesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
    private readonly writer: MessageWriter,
  ) {}

  /**
   * Stores a message (authorised and checked against a resolved conversation in the same
   * statement, see MessageWriter). Only when nothing was stored does it look further, to tell a
   * retried clientMessageId (answered with the stored message) from a refusal (404/403/409).
   */
  async send(user: Principal, conversationId: number, dto: SendMessageDto, origin?: string): Promise<{ message: MessageView; created: boolean }> {
    const clientMessageId = dto.clientMessageId ?? null;
    const row = await this.writer.write({ conversationId, role: user.role, senderId: user.id, text: dto.text, clientMessageId });
    if (row) {
      const message = toMessageView(row);
      this.events.publish('message.created', { message, customerId: row.customer_id, agentId: row.agent_id, origin });
      return { message, created: true };
    }
    const conversation = await this.participants(user, conversationId);
    if (clientMessageId !== null) {
      const existing: MessageRow[] = await this.dataSource.query(
        `SELECT * FROM messages WHERE conversation_id = $1 AND sender_type = $2 AND sender_id = $3 AND client_message_id = $4`,
        [conversationId, user.role === 'admin' ? 'system' : user.role, user.id, clientMessageId],
      );
      if (existing.length) return { message: toMessageView(existing[0]), created: false };
    }
    if (conversation.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation is resolved');
    throw new ForbiddenError('Not a participant of this conversation');
  }

  async history(user: Principal, conversationId: number, query: MessageHistoryQuery): Promise<{ data: MessageView[]; meta: { hasMore: boolean } }> {
    await this.participants(user, conversationId);
    const limit = query.limit;
    let rows: MessageRow[];
    if (query.before !== undefined) {
      rows = await this.dataSource.query(`SELECT * FROM messages WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [conversationId, query.before, limit + 1]);
      const hasMore = rows.length > limit;
      return { data: rows.slice(0, limit).reverse().map(toMessageView), meta: { hasMore } };
    }
    rows = await this.dataSource.query(`SELECT * FROM messages WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3`, [conversationId, query.after ?? 0, limit + 1]);
    return { data: rows.slice(0, limit).map(toMessageView), meta: { hasMore: rows.length > limit } };
  }

  /** What a reconnecting client missed: the messages after `afterId`, oldest first. */
  async after(user: Principal, conversationId: number, afterId: number): Promise<MessageView[]> {
    await this.participants(user, conversationId);
    const rows: MessageRow[] = await this.dataSource.query(`SELECT * FROM messages WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3`, [
      conversationId,
      afterId,
      SYNC_LIMIT,
    ]);
    return rows.map(toMessageView);
  }

  /** The parties of a conversation, if `user` may see it (403 otherwise, 404 when unknown). */
  async participants(user: Principal, conversationId: number): Promise<{ customerId: number; agentId: number | null; status: ConversationStatus }> {
    const rows: Pick<ConversationRow, 'customer_id' | 'agent_id' | 'status'>[] = await this.dataSource.query(
      `SELECT customer_id, agent_id, status FROM conversations WHERE id = $1`,
      [conversationId],
    );
    if (!rows.length) throw Errors.noSuchConversation();
    assertCanSee(user, rows[0]);
    return { customerId: rows[0].customer_id, agentId: rows[0].agent_id, status: rows[0].status };
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Access, actorOf, ConflictError, ConversationStatus, DomainEvents, Errors, ForbiddenError, MessageView, Principal } from '@cc/common';
import { toInt, toIso } from '@cc/database';
import { MessageHistoryQuery, SendMessageDto } from './conversation.dto';
import { ConversationsRepository } from './conversations.repository';
import { MessageRow, MessagesRepository } from './messages.repository';
import { MessageWriter } from './message-writer';

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
    private readonly repo: MessagesRepository,
    private readonly conversations: ConversationsRepository,
  ) {}

  /**
   * Stores a message (authorised and checked against a resolved conversation in the same
   * statement, see MessagesRepository). Only when nothing was stored does it look further, to tell a
   * retried clientMessageId (answered with the stored message) from a refusal (404/403/409).
   */
  async send(user: Principal, conversationId: number, dto: SendMessageDto, origin?: string): Promise<{ message: MessageView; created: boolean }> {
    const clientMessageId = dto.clientMessageId ?? null;
    const row = await this.writer.write({ conversationId, role: user.role, senderId: user.id, text: dto.text, clientMessageId, actor: actorOf(user) });
    if (row) {
      const message = toMessageView(row);
      this.events.publish('message.created', { message, customerId: row.customer_id, agentId: row.agent_id, origin });
      return { message, created: true };
    }
    const conversation = await this.participants(user, conversationId);
    if (clientMessageId !== null) {
      const senderType = user.role === 'admin' ? 'system' : user.role;
      const existing = await this.repo.byClientMessageId(this.dataSource.manager, conversationId, senderType, user.id, clientMessageId);
      if (existing) return { message: toMessageView(existing), created: false };
    }
    if (conversation.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation is resolved');
    throw new ForbiddenError('Not a participant of this conversation');
  }

  async history(user: Principal, conversationId: number, query: MessageHistoryQuery): Promise<{ data: MessageView[]; meta: { hasMore: boolean } }> {
    await this.participants(user, conversationId);
    const limit = query.limit;
    const manager = this.dataSource.manager;
    if (query.before !== undefined) {
      const rows = await this.repo.before(manager, conversationId, query.before, limit + 1);
      const hasMore = rows.length > limit;
      return { data: rows.slice(0, limit).reverse().map(toMessageView), meta: { hasMore } };
    }
    const rows = await this.repo.after(manager, conversationId, query.after ?? 0, limit + 1);
    return { data: rows.slice(0, limit).map(toMessageView), meta: { hasMore: rows.length > limit } };
  }

  /** What a reconnecting client missed: the messages after `afterId`, oldest first. */
  async after(user: Principal, conversationId: number, afterId: number): Promise<MessageView[]> {
    await this.participants(user, conversationId);
    return (await this.repo.after(this.dataSource.manager, conversationId, afterId, SYNC_LIMIT)).map(toMessageView);
  }

  /** The parties of a conversation, if `user` may see it (403 otherwise, 404 when unknown). */
  async participants(user: Principal, conversationId: number): Promise<{ customerId: number; agentId: number | null; status: ConversationStatus }> {
    const row = await this.conversations.parties(this.dataSource.manager, conversationId);
    if (!row) throw Errors.noSuchConversation();
    Access.requireReadConversation(user, row);
    return { customerId: row.customer_id, agentId: row.agent_id, status: row.status };
  }
}

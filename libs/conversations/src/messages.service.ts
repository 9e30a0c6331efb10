import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Access, actorOf, ConflictError, ConversationStatus, DomainEvents, Errors, ForbiddenError, MessageView, Principal } from '@cc/common';
import { toInt, toIso } from '@cc/database';
import { MessageHistoryQuery, SendMessageDto } from './conversation.dto';
import { ConversationsRepository } from './conversations.repository';
import { MessageRow, MessagesRepository, StoredMessageRow } from './messages.repository';
import { MessageWriter } from './message-writer';

const SYNC_LIMIT = 1000;

function messageView(r: Omit<MessageRow, 'created_at'>, createdAt: string): MessageView {
  return {
    id: toInt(r.id),
    conversationId: r.conversation_id,
    senderType: r.sender_type,
    senderId: r.sender_id,
    text: r.text,
    clientMessageId: r.client_message_id,
    createdAt,
  };
}

export const toMessageView = (r: MessageRow): MessageView => messageView(r, toIso(r.created_at)!);

/** The view of a row the message statement returned (its `created_at` is already the view's text). */
const storedMessageView = (r: StoredMessageRow): MessageView => messageView(r, r.created_at);

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
      const message = storedMessageView(row);
      this.announce(message, row.customer_id, row.agent_id, origin);
      return { message, created: true };
    }
    return this.refusedOrRepeated(this.dataSource.manager, user, conversationId, clientMessageId);
  }

  /**
   * `send` inside the caller's transaction (one statement, not the group commit), for a command
   * that stores a message together with other changes. Nothing is published: after the commit
   * the caller `announce`s a created message.
   */
  async sendInTransaction(manager: EntityManager, user: Principal, conversationId: number, dto: SendMessageDto): Promise<{ message: MessageView; created: boolean }> {
    const clientMessageId = dto.clientMessageId ?? null;
    const row = await this.repo.insertOne(manager, { conversationId, role: user.role, senderId: user.id, text: dto.text, clientMessageId, actor: actorOf(user) });
    if (row) return { message: storedMessageView(row), created: true };
    return this.refusedOrRepeated(manager, user, conversationId, clientMessageId);
  }

  /** Publishes message.created for a stored message (its event webhook is already in the outbox). */
  announce(message: MessageView, customerId: number, agentId: number | null, origin?: string): void {
    this.events.publish('message.created', { message, customerId, agentId, origin });
  }

  /** Nothing was stored: a retried clientMessageId (answered with the stored message) or a refusal (404/403/409). */
  private async refusedOrRepeated(manager: EntityManager, user: Principal, conversationId: number, clientMessageId: string | null): Promise<{ message: MessageView; created: boolean }> {
    const conversation = await this.participants(user, conversationId, manager);
    if (clientMessageId !== null) {
      const senderType = user.role === 'admin' ? 'system' : user.role;
      const existing = await this.repo.byClientMessageId(manager, conversationId, senderType, user.id, clientMessageId);
      if (existing) return { message: toMessageView(existing), created: false };
    }
    if (conversation.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation is resolved');
    Access.requireNotOfferedTo(user, { customer_id: conversation.customerId, agent_id: conversation.agentId, status: conversation.status });
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
  async participants(user: Principal, conversationId: number, manager: EntityManager = this.dataSource.manager): Promise<{ customerId: number; agentId: number | null; status: ConversationStatus }> {
    const row = await this.conversations.parties(manager, conversationId);
    if (!row) throw Errors.noSuchConversation();
    Access.requireReadConversation(user, row);
    return { customerId: row.customer_id, agentId: row.agent_id, status: row.status };
  }
}

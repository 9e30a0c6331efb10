import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Access, actorOf, ConflictError, ConversationView, DomainEvents, Errors, ForbiddenError, InvalidError, MessageView, Principal, TransactionHooks } from '@cc/common';
import { afterCommit, isUniqueViolation, recordEvent, toInt, toIso, withTransaction } from '@cc/database';
import {
  AssignConversationDto,
  ConversationRow,
  ConversationsRepository,
  ConversationsService,
  StartConversationDto,
  StartWriter,
  toConversationView,
  TransferConversationDto,
} from '@cc/conversations';
import { QueuesService } from '@cc/queues';
import { AllocationService } from './allocation.service';
import { Decider } from './decider';

/** The conversation commands that end in an allocation decision: start, transfer, manual assignment. */
@Injectable()
export class RoutingService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: ConversationsRepository,
    private readonly starts: StartWriter,
    private readonly conversations: ConversationsService,
    private readonly allocation: AllocationService,
    private readonly decider: Decider,
    private readonly queues: QueuesService,
    private readonly events: DomainEvents,
    private readonly hooks: TransactionHooks,
  ) {}

  /** Creates the customer's conversation and allocates it before answering (or queues it). */
  async start(user: Principal, dto: StartConversationDto): Promise<ConversationView> {
    Access.requireCustomer(user, 'Only customers start conversations');
    const channel = dto.channel ?? 'web';
    // One statement routes, stores the conversation and its first text, durably (with the other
    // starts that arrived meanwhile: StartWriter); allocation follows in a transaction of its own.
    let stored;
    try {
      stored = await this.starts.start({ customerId: user.id, text: dto.text ?? null, channel, queueId: dto.queueId ?? null, actor: actorOf(user) });
    } catch (err) {
      if (isUniqueViolation(err, 'conversations_one_open_per_customer')) throw await this.alreadyOpen(user.id);
      throw err;
    }
    if (!stored) throw Errors.noSuchQueue();
    const { webhook_url, message_id, message_created_at, ...created } = stored;
    const first: MessageView | null =
      message_id === null
        ? null
        : { id: toInt(message_id), conversationId: created.id, senderType: 'customer', senderId: user.id, text: dto.text!, clientMessageId: null, createdAt: toIso(message_created_at)! };
    const viaWebhook = webhook_url !== null;
    const row = await this.allocation.allocateNew(created, viaWebhook, 'conversation-started');
    // After the assignment, so the agent that took the conversation receives its first text.
    if (first) this.events.publish('message.created', { message: first, customerId: user.id, agentId: row.agent_id });
    return this.conversations.view(row, user);
  }

  /**
   * For a caller's transaction (a connector's inbound message stores the customer, the
   * conversation and its text together): stores the customer's conversation, without a text and
   * not yet allocated; once the transaction has committed, `allocate` allocates it as `start`
   * does. A conversation already open is the database's unique violation, which aborts the
   * transaction.
   */
  async startInTransaction(manager: EntityManager, user: Principal, channel: string): Promise<{ conversation: ConversationRow; allocate: () => Promise<ConversationRow> }> {
    Access.requireCustomer(user, 'Only customers start conversations');
    const stored = await this.repo.start(manager, user.id, null, channel, null, actorOf(user));
    if (!stored) throw Errors.noSuchQueue();
    const { webhook_url, message_id, message_created_at, ...created } = stored;
    return { conversation: created, allocate: () => this.allocation.allocateNew(created, webhook_url !== null, 'conversation-started') };
  }

  /** To another agent (a manual decision: allowed beyond capacity) or into a queue's waiting line. */
  async transfer(user: Principal, id: number, dto: TransferConversationDto): Promise<ConversationView> {
    if ((dto.agentId === undefined) === (dto.queueId === undefined)) throw new InvalidError('Give exactly one of agentId or queueId');
    let viaWebhook = false;
    let row = await withTransaction(this.dataSource, async (manager) => {
      const current = await this.conversations.find(manager, id, true);
      Access.requireSteerConversation(user, current, 'Only its agent or an admin may transfer a conversation');
      if (current.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation already resolved');
      Access.requireNotOfferedTo(user, current);
      let moved: ConversationRow;
      if (dto.agentId !== undefined) {
        if (current.agent_id === dto.agentId) throw new ConflictError('SameAgent', 'Conversation is already with this agent');
        moved = await this.decider.assignTo(manager, current, dto.agentId, 'transfer', 'transfer', actorOf(user));
      } else {
        const queue = await this.queues.find(dto.queueId!, manager);
        const requeued = await this.repo.moveToQueue(manager, id, queue.id);
        viaWebhook = !!queue.webhook_url;
        moved = viaWebhook ? requeued : await this.decider.allocateInTransaction(manager, requeued, 'transfer', actorOf(user));
      }
      await this.repo.recordTransfer(manager, current, moved);
      if (current.agent_id !== null) await this.hooks.run('agent.load.changed', manager, { agentIds: [current.agent_id], reason: 'transferred' });
      await recordEvent(manager, {
        type: 'conversation.transferred',
        conversationId: id,
        channel: moved.channel,
        actor: actorOf(user),
        data: { conversation: toConversationView(moved), fromAgentId: current.agent_id, toAgentId: moved.agent_id },
      });
      afterCommit(manager, () => {
        this.events.publish('conversation.transferred', { conversation: toConversationView(moved), fromAgentId: current.agent_id, toAgentId: moved.agent_id });
        if (current.status !== 'active' || moved.status !== 'active') this.events.publish('queue.positions.changed', { queueIds: [current.queue_id, moved.queue_id] });
      });
      return moved;
    });
    if (viaWebhook) row = (await this.allocation.allocateWaiting(row.id, 'transfer')) ?? row;
    return this.conversations.view(row);
  }

  /** Admin assigns to an agent directly, capacity notwithstanding. */
  async assign(user: Principal, id: number, dto: AssignConversationDto): Promise<ConversationView> {
    const row = await withTransaction(this.dataSource, async (manager) => {
      const current = await this.conversations.find(manager, id, true);
      if (current.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation already resolved');
      if (current.agent_id === dto.agentId) return current;
      return this.decider.assignTo(manager, current, dto.agentId, 'manual', 'manual', actorOf(user));
    });
    return this.conversations.view(row);
  }

  private async alreadyOpen(customerId: number): Promise<ConflictError> {
    const open = await this.repo.openIdOf(this.dataSource.manager, customerId);
    return new ConflictError('ConversationOpen', 'Customer already has an open conversation', { conversationId: open });
  }
}

import { Injectable } from '@nestjs/common';
import { createHash } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { actorOf, ConflictError, ConversationView, InvalidError, MessageView, Principal } from '@cc/common';
import { advisoryXactLock, isUniqueViolation, LockKey, withTransaction } from '@cc/database';
import { AuthService } from '@cc/auth';
import { RoutingService } from '@cc/allocation';
import { ConversationsService, MessagesService, toMessageView } from '@cc/conversations';
import { InboundMessageDto } from './channel.dto';
import { ChannelCustomerRow, ChannelsRepository } from './channels.repository';
import { CHANNEL_PATTERN } from './webhook.dto';

export interface InboundResult {
  customer: { id: number; name: string | null; email: string | null; externalId: string };
  conversation: ConversationView;
  message: MessageView;
  created: boolean;
}

const ADMIN: Principal = { role: 'admin', id: 0 };

/** A 32-bit key for the advisory lock of one (channel, externalId). */
function lockSub(channel: string, externalId: string): number {
  return createHash('sha256').update(`${channel}\u0000${externalId}`).digest().readInt32BE(0);
}

/** The idempotency key kept on the message (clientMessageId holds at most 64 characters). */
function clientMessageIdOf(externalMessageId: string): string {
  return externalMessageId.length <= 64 ? externalMessageId : `sha256:${createHash('sha256').update(externalMessageId).digest('hex').slice(0, 57)}`;
}

/** Rolls the inbound's transaction back: another post of its externalMessageId was recorded first. */
class RecordedBefore extends Error {
  constructor(readonly messageId: string) {
    super('externalMessageId recorded by another post');
  }
}

/**
 * A connector's inbound message (API.md section 14): the channel's customer (created when new),
 * its open conversation or a new one on the channel (routed and allocated as in section 7), the
 * text stored as the customer's message, once per externalMessageId. Every change is recorded
 * with the connector (its API key) as the actor.
 *
 * The customer, the conversation, the message and the externalMessageId are stored in one
 * transaction, so a failure anywhere leaves nothing behind and the connector's retry stores the
 * text once (a half-done post could otherwise leave a message its retry cannot recognise, e.g.
 * after the conversation ended in between). Allocation follows the commit, as for any start.
 */
@Injectable()
export class ChannelInboundService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: ChannelsRepository,
    private readonly auth: AuthService,
    private readonly conversations: ConversationsService,
    private readonly routing: RoutingService,
    private readonly messages: MessagesService,
  ) {}

  async receive(caller: Principal, channel: string, dto: InboundMessageDto): Promise<InboundResult> {
    if (!CHANNEL_PATTERN.test(channel)) throw new InvalidError('channel must be 1 to 32 lowercase letters, digits, ".", "_" or "-"');
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.receiveOnce(caller, channel, dto);
      } catch (err) {
        if (err instanceof RecordedBefore) return this.answer(err.messageId, channel, false);
        // The customer started a conversation by another way between our read and our insert: the next attempt finds it.
        if (attempt < 3 && isUniqueViolation(err, 'conversations_one_open_per_customer')) continue;
        throw err;
      }
    }
  }

  private async receiveOnce(caller: Principal, channel: string, dto: InboundMessageDto): Promise<InboundResult> {
    const stored = await withTransaction(this.dataSource, async (manager) => {
      // Posts of one (channel, externalId) run one after the other: one customer, one open
      // conversation, and a repeat of a message finds the first one's externalMessageId.
      await advisoryXactLock(manager, LockKey.ChannelCustomer, lockSub(channel, dto.externalId));
      const known = await this.repo.findMessage(manager, channel, dto.externalMessageId);
      if (known !== null) return { known };
      const customer = await this.customer(manager, channel, dto);
      const asCustomer: Principal = { role: 'customer', id: customer.id, actor: actorOf(caller) };
      const open = await this.conversations.lockOpenOf(manager, customer.id);
      const started = open ? null : await this.routing.startInTransaction(manager, asCustomer, channel);
      const conversation = open ?? started!.conversation;
      const sent = await this.messages.sendInTransaction(manager, asCustomer, conversation.id, { text: dto.text, clientMessageId: clientMessageIdOf(dto.externalMessageId) });
      // The unique (channel, external_message_id) decides between posts that were not serialised by the lock.
      const linked = await this.repo.linkMessage(manager, channel, dto.externalMessageId, sent.message.id);
      if (Number(linked) !== sent.message.id) throw new RecordedBefore(linked);
      return { customer, conversation, started, sent };
    });
    if ('known' in stored) return this.answer(stored.known!, channel, false);
    const { customer, conversation, started, sent } = stored;
    let agentId = conversation.agent_id;
    try {
      // After the assignment, so the agent that took the conversation receives its first text.
      if (started) agentId = (await started.allocate()).agent_id;
    } finally {
      if (sent.created) this.messages.announce(sent.message, customer.id, agentId);
    }
    return {
      customer: { id: customer.id, name: customer.name, email: customer.email, externalId: customer.external_id },
      conversation: await this.conversations.get(ADMIN, conversation.id),
      message: sent.message,
      created: sent.created,
    };
  }

  /** The customer with that externalId on that channel, created when new (the caller holds the lock of that pair). */
  private async customer(manager: EntityManager, channel: string, dto: InboundMessageDto): Promise<ChannelCustomerRow> {
    const found = await this.repo.findCustomer(manager, channel, dto.externalId);
    if (found) return found;
    const created = await this.auth.createCustomer(manager, dto.name ?? null, dto.email ?? null);
    await this.repo.linkCustomer(manager, channel, dto.externalId, created.id);
    return { id: created.id, name: created.name, email: created.email, external_id: dto.externalId };
  }

  private async answer(messageId: string, channel: string, created: boolean): Promise<InboundResult> {
    const found = await this.repo.messageWithCustomer(messageId, channel);
    if (!found) throw new ConflictError('MessageGone', 'The message of this externalMessageId no longer exists');
    const message = toMessageView(found.message as never);
    return {
      customer: { id: found.customer.id, name: found.customer.name, email: found.customer.email, externalId: found.customer.external_id },
      conversation: await this.conversations.get(ADMIN, message.conversationId),
      message,
      created,
    };
  }
}

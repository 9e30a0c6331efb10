import { Injectable } from '@nestjs/common';
import { createHash } from 'crypto';
import { DataSource } from 'typeorm';
import { actorOf, ConflictError, ConversationView, InvalidError, MessageView, Principal } from '@cc/common';
import { advisoryXactLock, LockKey, withTransaction } from '@cc/database';
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

/**
 * A connector's inbound message (API.md section 14): the channel's customer (created when new),
 * its open conversation or a new one on the channel (routed and allocated as in section 7), the
 * text stored as the customer's message, once per externalMessageId. Every change is recorded
 * with the connector (its API key) as the actor.
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
    const known = await this.repo.findMessage(channel, dto.externalMessageId);
    if (known !== null) return this.answer(known, channel, false);
    const customer = await this.customer(channel, dto);
    const asCustomer: Principal = { role: 'customer', id: customer.id, actor: actorOf(caller) };
    const conversation = await this.openConversation(asCustomer, channel);
    // The message's clientMessageId makes concurrent identical posts store one message (a unique
    // index); channel_messages then answers later repeats even after the conversation ended.
    const sent = await this.messages.send(asCustomer, conversation.id, { text: dto.text, clientMessageId: clientMessageIdOf(dto.externalMessageId) });
    const linked = await this.repo.linkMessage(channel, dto.externalMessageId, sent.message.id);
    if (Number(linked) !== sent.message.id) return this.answer(linked, channel, false);
    return {
      customer: { id: customer.id, name: customer.name, email: customer.email, externalId: customer.external_id },
      conversation: await this.conversations.get(ADMIN, conversation.id),
      message: sent.message,
      created: sent.created,
    };
  }

  /** The customer with that externalId on that channel, created once even under concurrent posts. */
  private customer(channel: string, dto: InboundMessageDto): Promise<ChannelCustomerRow> {
    return withTransaction(this.dataSource, async (manager) => {
      await advisoryXactLock(manager, LockKey.ChannelCustomer, lockSub(channel, dto.externalId));
      const found = await this.repo.findCustomer(manager, channel, dto.externalId);
      if (found) return found;
      const created = await this.auth.createCustomer(manager, dto.name ?? null, dto.email ?? null);
      await this.repo.linkCustomer(manager, channel, dto.externalId, created.id);
      return { id: created.id, name: created.name, email: created.email, external_id: dto.externalId };
    });
  }

  private async openConversation(asCustomer: Principal, channel: string): Promise<ConversationView> {
    const [open] = await this.conversations.openFor(asCustomer);
    if (open) return open;
    try {
      return await this.routing.start(asCustomer, { channel });
    } catch (err) {
      // A concurrent post started it first.
      if (err instanceof ConflictError && err.code === 'ConversationOpen' && typeof err.details?.conversationId === 'number') {
        return this.conversations.get(ADMIN, err.details.conversationId);
      }
      throw err;
    }
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

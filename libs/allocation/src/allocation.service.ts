import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationRow, ConversationsRepository } from '@cc/conversations';
import { Decider } from './decider';
import { WebhookConsultation } from './webhook-consultation';

/** The entry for allocating a stored conversation: by the queue's strategy, or through its webhook when it has one. */
@Injectable()
export class AllocationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly conversations: ConversationsRepository,
    private readonly decider: Decider,
    private readonly consultation: WebhookConsultation,
  ) {}

  /** Allocates a conversation that is waiting now, consulting the queue's webhook when it has one. */
  async allocateWaiting(conversationId: number, trigger: string): Promise<ConversationRow | null> {
    const row = await this.conversations.findWithWebhook(this.dataSource.manager, conversationId);
    if (!row || row.status !== 'queued') return row;
    return this.allocateNew(row, !!row.webhook_url, trigger);
  }

  /** Allocates a conversation just stored (committed) in a queue with or without a webhook. */
  allocateNew(conversation: ConversationRow, viaWebhook: boolean, trigger: string): Promise<ConversationRow> {
    if (viaWebhook) return this.consultation.allocate(conversation, trigger);
    return this.decider.decide(conversation.id, trigger);
  }
}

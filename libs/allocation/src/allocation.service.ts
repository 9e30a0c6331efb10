import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationRow, ConversationsRepository } from '@cc/conversations';
import { ServiceableRow } from './allocation.repository';
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

  /**
   * The drain's share: conversations it found waiting. A webhook consultation is only started,
   * so the drain moves on instead of waiting for a slow receiver; those decided by their queue's
   * strategy are queued together so that they share one decision transaction. Settles when all
   * are decided, answering the decisions that failed (one failing does not fail the others).
   */
  async allocateDrained(rows: ServiceableRow[], trigger: string): Promise<{ conversationId: number; error: unknown }[]> {
    const byStrategy: number[] = [];
    for (const row of rows) {
      if (row.webhook_url) this.consultation.consultInBackground(row, trigger);
      else byStrategy.push(row.id);
    }
    const settled = await Promise.allSettled(this.decider.decideAll(byStrategy, trigger));
    return settled.flatMap((s, i) => (s.status === 'rejected' ? [{ conversationId: byStrategy[i], error: s.reason as unknown }] : []));
  }

  /** Allocates a conversation just stored (committed) in a queue with or without a webhook. */
  allocateNew(conversation: ConversationRow, viaWebhook: boolean, trigger: string): Promise<ConversationRow> {
    if (viaWebhook) return this.consultation.allocate(conversation, trigger);
    return this.decider.decide(conversation.id, trigger);
  }
}

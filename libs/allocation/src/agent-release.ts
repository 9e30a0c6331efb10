import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { DomainEvents, TransactionHooks } from '@cc/common';
import { afterCommit, recordEvent } from '@cc/database';
import { ConversationRow, ConversationsRepository, toConversationView } from '@cc/conversations';
import { Drainer } from './drainer';

/**
 * An agent released by presence (logged off, or deleted): in the same transaction its active
 * conversations go back to the waiting line, keeping their original wait; after the commit
 * their customers hear their positions and the line is drained.
 */
@Injectable()
export class AgentRelease implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly hooks: TransactionHooks,
    private readonly events: DomainEvents,
    private readonly conversations: ConversationsRepository,
    private readonly drainer: Drainer,
  ) {}

  onModuleInit(): void {
    this.hooks.register('agent.released', async (manager, { agentId, reason }) => {
      await this.requeueAgent(manager, agentId, reason);
    });
  }

  async requeueAgent(manager: EntityManager, agentId: number, reason: string): Promise<ConversationRow[]> {
    const requeued = await this.conversations.requeueAgent(manager, agentId);
    if (!requeued.length) return [];
    // Back in the waiting line: integrations hear conversation.queued with the place it has now, in this transaction.
    const inLine = await this.conversations.positions(
      manager,
      requeued.map((r) => r.id),
    );
    for (const row of requeued) {
      await recordEvent(manager, { type: 'conversation.queued', conversationId: row.id, channel: row.channel, data: { conversation: toConversationView(row, inLine.get(row.id)) } });
    }
    afterCommit(manager, async () => {
      const positions = await this.conversations.positions(this.dataSource.manager, requeued.map((r) => r.id));
      for (const row of requeued) {
        this.events.publish('conversation.requeued', { conversation: toConversationView(row, positions.get(row.id)), fromAgentId: agentId });
      }
      this.events.publish('queue.positions.changed', { queueIds: [...new Set(requeued.map((r) => r.queue_id))] });
      await this.drainer.drain(`agent-${reason}`);
    });
    return requeued;
  }
}

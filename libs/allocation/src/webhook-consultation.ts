import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationRow, toConversationView } from '@cc/conversations';
import { AllocationOutcome } from './allocation-decision.entity';
import { AllocationRepository } from './allocation.repository';
import { AllocationWebhook, WebhookAnswer } from './allocation-webhook';
import { CandidatesRepository, Member } from './candidates.repository';
import { Decider } from './decider';
import { DecisionQueue } from './decision-queue';
import { judge } from './strategies';

/**
 * Allocation through a queue's webhook: the webhook is asked outside the lock (it may take up to
 * the queue's timeout), then the decision is taken under the lock on fresh candidates, where the
 * webhook's agent is taken only if it is still eligible; otherwise the queue's strategy decides.
 */
@Injectable()
export class WebhookConsultation {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
    private readonly candidates: CandidatesRepository,
    private readonly webhook: AllocationWebhook,
    private readonly decider: Decider,
    private readonly decisions: DecisionQueue,
  ) {}

  async allocate(conversation: ConversationRow, trigger: string): Promise<ConversationRow> {
    const { queue, members } = await this.candidates.queueWithMembers(this.dataSource.manager, conversation.queue_id);
    const now = new Date();
    const candidates = members.filter((m) => judge(m, conversation.channel, now).eligible).map((m) => m.agentId);
    const customer = await this.repo.customerOf(this.dataSource.manager, conversation.customer_id);
    const answer = candidates.length
      ? await this.webhook.ask(queue.webhook_url!, queue.webhook_timeout_ms, {
          conversation: toConversationView(conversation),
          customer,
          queue: { id: queue.id, name: queue.name, strategy: queue.strategy, overflow: queue.overflow },
          candidates,
        })
      : ({ kind: 'fallback', why: 'no eligible candidate' } as WebhookAnswer);

    return this.decisions.push(async (manager) => {
      const { conversation: current, members: fresh } = await this.candidates.lockedContext(manager, conversation.id);
      if (current.status !== 'queued') return current;
      const choice = this.decider.choose(queue, current.channel, fresh, {}, current.offer_passed_agent_ids);
      if (answer.kind === 'agent') {
        const verdict = choice.verdicts.find((v) => v.candidate.agentId === answer.agentId);
        if (verdict?.eligible) return this.decider.apply(manager, current, queue, { ...choice, agent: verdict.candidate as Member, outcome: 'webhook' }, trigger);
      }
      if (answer.kind === 'wait') return this.decider.apply(manager, current, queue, { ...choice, agent: null, outcome: 'webhook' }, trigger);
      const outcome: AllocationOutcome = !choice.agent ? 'queued' : choice.outcome === 'overflow' ? 'overflow' : candidates.length ? 'webhook-fallback' : 'assigned';
      return this.decider.apply(manager, current, queue, { ...choice, outcome }, trigger);
    });
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { ConversationRow, toConversationView } from '@cc/conversations';
import { AllocationOutcome } from './allocation-decision.entity';
import { AllocationRepository } from './allocation.repository';
import { AllocationWebhook, WebhookAnswer } from './allocation-webhook';
import { CandidatesRepository, Member } from './candidates.repository';
import { Choice, Decider } from './decider';
import { DecisionQueue } from './decision-queue';
import { judge } from './strategies';

/** At most `limit` tasks at once; the others wait their turn in arrival order. */
export class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** How many conversations the webhook left waiting are remembered (oldest forgotten first). */
const MAX_REMEMBERED_WAITS = 100_000;

/**
 * Allocation through a queue's webhook: the webhook is asked outside the lock (it may take up to
 * the queue's timeout), then the decision is taken under the lock on fresh candidates, where the
 * webhook's agent is taken only if it is still eligible; otherwise the queue's strategy decides.
 *
 * Calls are concurrent, at most WEBHOOK_CONCURRENCY in flight per instance. The drain never
 * waits for them (consultInBackground), so a slow webhook delays only its own conversations. A
 * conversation the webhook left waiting is asked again only when a slot frees (a drain that is
 * not the periodic sweep), at most once per ALLOCATION_SWEEP_MS; a slot that frees sooner is
 * remembered and served by the next sweep. This memory is per instance: a restarted instance
 * asks each waiting conversation once more.
 */
@Injectable()
export class WebhookConsultation {
  private readonly logger = new Logger('AllocationWebhook');
  private readonly slots: Semaphore;
  private readonly inFlight = new Set<number>();
  private readonly waited = new Map<number, { at: number; slotFreed: boolean }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
    private readonly candidates: CandidatesRepository,
    private readonly webhook: AllocationWebhook,
    private readonly decider: Decider,
    private readonly decisions: DecisionQueue,
  ) {
    this.slots = new Semaphore(config.webhookConcurrency);
  }

  /** Webhook calls in flight now (for tests and metrics). */
  get active(): number {
    return this.slots.active;
  }

  /**
   * Consults and decides, answering the decided row (a conversation start waits for its own
   * webhook). While it is in flight, a drain does not ask about the same conversation again: the
   * conversation is stored (and seen by the drain) before its start's consultation ends.
   */
  allocate(conversation: ConversationRow, trigger: string): Promise<ConversationRow> {
    const id = conversation.id;
    this.inFlight.add(id);
    return this.slots.run(() => this.consult(conversation, trigger)).finally(() => this.inFlight.delete(id));
  }

  /** For the drain: starts a consultation if one is due and returns at once. */
  consultInBackground(conversation: ConversationRow, trigger: string): void {
    const id = conversation.id;
    if (this.inFlight.has(id)) return;
    const waited = this.waited.get(id);
    if (waited) {
      const sweep = trigger === 'sweep';
      if (!sweep) waited.slotFreed = true;
      if (sweep ? !waited.slotFreed : Date.now() - waited.at < this.config.allocationSweepMs) return;
    }
    void this.allocate(conversation, trigger).catch((err) =>
      this.logger.error(`Webhook allocation of conversation ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    );
  }

  private remember(id: number, answer: WebhookAnswer, decided: ConversationRow): void {
    this.waited.delete(id);
    if (answer.kind !== 'wait' || decided.status !== 'queued') return;
    this.waited.set(id, { at: Date.now(), slotFreed: false });
    if (this.waited.size > MAX_REMEMBERED_WAITS) this.waited.delete(this.waited.keys().next().value!);
  }

  private async consult(conversation: ConversationRow, trigger: string): Promise<ConversationRow> {
    // Outside the lock: the webhook is told every eligible member.
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

    const decided = await this.decisions.push(async (manager, batch) => {
      // It reads loads from the database: the batch's decisions so far are written first.
      await batch.flush(manager);
      const include = answer.kind === 'agent' ? [answer.agentId] : [];
      const { conversation: current, pool: fresh } = await this.candidates.lockedCandidates(manager, conversation.id, { limit: batch.limit, include });
      if (current.status !== 'queued') return current;
      const { queue: locked, choice } = await this.decider.chooseLocked(manager, batch, current, fresh, include);
      const final: Choice = ((): Choice => {
        if (answer.kind === 'agent') {
          const verdict = choice.verdicts.find((v) => v.candidate.agentId === answer.agentId);
          if (verdict?.eligible) return { ...choice, agent: verdict.candidate as Member, outcome: 'webhook' };
        }
        if (answer.kind === 'wait') return { ...choice, agent: null, outcome: 'webhook' };
        const outcome: AllocationOutcome = !choice.agent ? 'queued' : choice.outcome === 'overflow' ? 'overflow' : candidates.length ? 'webhook-fallback' : 'assigned';
        return { ...choice, outcome };
      })();
      const row = await this.decider.apply(manager, current, locked, final, trigger, undefined, batch);
      // Other decisions of this batch keep the loads they read: tell them about this slot.
      batch.decided(row, final.agent?.agentId ?? null);
      return row;
    });
    this.remember(conversation.id, answer, decided);
    return decided;
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DataSource, EntityManager } from 'typeorm';
import { Actor, actorOf, APP_CONFIG, AppConfig, asSystem, ConflictError, ConversationView, DomainEventMap, DomainEvents, Errors, OfferEndReason, Principal, SYSTEM_ACTOR, TransactionHooks } from '@cc/common';
import { advisoryXactLock, afterCommit, DeadlineTimers, LockKey, recordEvent, withTransaction } from '@cc/database';
import { PresenceService, StatusChange } from '@cc/presence';
import { ConversationsRepository, toConversationView } from '@cc/conversations';
import { OfferEndOutcome } from './allocation-decision.entity';
import { AllocationRepository, EndedOffer, OfferFilter } from './allocation.repository';
import { CandidatesRepository } from './candidates.repository';
import { Drainer } from './drainer';

/** The pause reason a missed offer pauses the agent with (created when it does not exist). */
export const MISSED_OFFER_REASON = 'Missed offer';

/** Offers ended per expiry statement; a sweep repeats until none is left. */
const EXPIRY_BATCH = 100;

const noOffer = () => new ConflictError('NoOffer', 'No offer');

/**
 * The answer to an offer (API.md section 11): accept, decline, expiry and revocation. The deadline
 * lives in the database; a timer on the instance that made the offer and a sweep on every
 * instance end it through one conditional statement, so an offer expires exactly once.
 * Declined, expired and revoked offers wait again at the front of their line and the waiting
 * line drains at once, preferring members that have not declined or missed the conversation.
 */
@Injectable()
export class OffersService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Offers');
  // A timer or the sweep acts as the system (not as the request whose offer it ends).
  private readonly deadlines = new DeadlineTimers(
    (conversationId) => asSystem(() => this.expire(conversationId)),
    (err) => this.logger.error(`Ending offers failed: ${err instanceof Error ? err.message : String(err)}`),
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
    private readonly conversations: ConversationsRepository,
    private readonly candidates: CandidatesRepository,
    private readonly drainer: Drainer,
    private readonly presence: PresenceService,
    private readonly hooks: TransactionHooks,
    private readonly events: DomainEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Both run inside the caller's transaction, which holds the allocation lock.
    this.hooks.register('agent.released', (manager, { agentId }) => this.revoke(manager, { kind: 'agent', agentId }, 'logoff'));
    this.hooks.register('agent.paused', (manager, { agentId }) => this.revoke(manager, { kind: 'agent', agentId }, 'paused'));
    this.hooks.register('offer.withdrawn', async (manager, { conversationId, agentId, by }) => {
      await this.repo.recordOfferWithdrawn(manager, conversationId, agentId, `resolved-by-${by}`);
      afterCommit(manager, () => this.cancel(conversationId));
    });
  }

  onApplicationBootstrap(): void {
    this.deadlines.startSweep(this.config.allocationSweepMs);
  }

  async onModuleDestroy(): Promise<void> {
    await this.deadlines.stop();
  }

  /** The offered agent takes the conversation: `active` now, then `conversation.assigned` as usual. */
  async accept(user: Principal, conversationId: number): Promise<ConversationView> {
    const row = await withTransaction(this.dataSource, async (manager) => {
      const accepted = user.role === 'agent' ? await this.repo.recordAccept(manager, conversationId, user.id) : null;
      if (!accepted) throw await this.whyNoOffer(manager, conversationId);
      const name = (await this.candidates.agents(manager, [user.id]))[0]?.name ?? '';
      await recordEvent(manager, {
        type: 'conversation.assigned',
        conversationId: accepted.id,
        channel: accepted.channel,
        actor: actorOf(user),
        data: { conversation: toConversationView(accepted), agent: { id: user.id, name } },
      });
      afterCommit(manager, () => {
        const conversation = toConversationView(accepted);
        this.events.publish('conversation.offer.accepted', { conversation, agentId: user.id });
        this.events.publish('conversation.assigned', { conversation, agent: { id: user.id, name }, previousAgentId: null });
        // It leaves the line only now: those behind it move up.
        this.events.publish('queue.positions.changed', { queueIds: [accepted.queue_id] });
      });
      return accepted;
    });
    this.cancel(conversationId);
    return toConversationView(row);
  }

  /** The offered agent passes: the conversation waits again at the front of its line and goes to the next eligible member. */
  async decline(user: Principal, conversationId: number): Promise<ConversationView> {
    const [row] = await withTransaction(this.dataSource, async (manager) => {
      const ended = user.role === 'agent' ? await this.end(manager, { kind: 'declined', conversationId, agentId: user.id }, 'declined', 'declined', undefined, actorOf(user)) : [];
      if (!ended.length) throw await this.whyNoOffer(manager, conversationId);
      return ended;
    });
    this.cancel(conversationId);
    return this.view(row);
  }

  /**
   * Ends the offers whose deadline has passed (only that conversation's, from its timer). A missed
   * offer pauses its agent when the queue says so. Answers how many ended here.
   */
  async expire(conversationId?: number): Promise<number> {
    let total = 0;
    for (;;) {
      const ended = await withTransaction(this.dataSource, async (manager) => {
        // Before any row: the pause below takes presence rows, and pause commands take the lock first too.
        await advisoryXactLock(manager, LockKey.Allocation);
        const rows = await this.end(manager, { kind: 'expired', conversationId, limit: EXPIRY_BATCH }, 'offer-expired', 'offer-expired', undefined, SYSTEM_ACTOR);
        const changes: StatusChange[] = [];
        for (const agentId of new Set(rows.filter((r) => r.pause_on_missed_offer).map((r) => r.offered_agent_id))) {
          const change = await this.presence.pauseInTransaction(manager, agentId, MISSED_OFFER_REASON, 'missed-offer');
          if (change) changes.push(change);
        }
        afterCommit(manager, () => this.presence.publishChanges(changes));
        return rows;
      });
      total += ended.length;
      if (conversationId !== undefined || ended.length < EXPIRY_BATCH || this.deadlines.stopped) return total;
    }
  }

  /** Made on this instance: end it on time here (the sweep of any instance is the fallback). */
  @OnEvent('conversation.offered')
  onOffered({ conversation, expiresAt }: DomainEventMap['conversation.offered']): void {
    this.schedule(conversation.id, new Date(expiresAt));
  }

  private schedule(conversationId: number, at: Date): void {
    this.deadlines.schedule(conversationId, at);
  }

  private cancel(conversationId: number): void {
    this.deadlines.cancel(conversationId);
  }


  private async revoke(manager: EntityManager, filter: OfferFilter, reason: 'logoff' | 'paused'): Promise<void> {
    await this.end(manager, filter, 'offer-revoked', `agent-${reason}`, reason);
  }

  /** Ends offers in the caller's transaction; after the commit their agents hear it and the line drains. */
  private async end(
    manager: EntityManager,
    filter: OfferFilter,
    outcome: OfferEndOutcome,
    trigger: string,
    reason?: OfferEndReason,
    actor?: Actor,
  ): Promise<EndedOffer[]> {
    const ended = await this.repo.recordOffersEnded(manager, filter, outcome, trigger);
    if (!ended.length) return ended;
    // Waiting again: integrations hear conversation.queued with the place it has now (revocations act as whoever logged off or paused).
    const inLine = await this.conversations.positions(
      manager,
      ended.map((r) => r.id),
    );
    for (const row of ended) {
      const { offered_agent_id: _agent, pause_on_missed_offer: _pause, ...conversation } = row;
      await recordEvent(manager, { type: 'conversation.queued', conversationId: row.id, channel: row.channel, actor, data: { conversation: toConversationView(conversation, inLine.get(row.id)) } });
    }
    // A freed slot may make the agent available again (a revocation's logoff or pause records its own state).
    if (outcome !== 'offer-revoked') await this.presence.recordDerivedStates(manager, ended.map((r) => r.offered_agent_id), trigger);
    const why: OfferEndReason = reason ?? (outcome === 'declined' ? 'declined' : 'expired');
    afterCommit(manager, async () => {
      const positions = await this.conversations.positions(this.dataSource.manager, ended.map((r) => r.id));
      for (const row of ended) {
        this.cancel(row.id);
        this.events.publish('conversation.offer.revoked', { conversation: toConversationView(row, positions.get(row.id)), agentId: row.offered_agent_id, reason: why });
      }
      this.events.publish('queue.positions.changed', { queueIds: [...new Set(ended.map((r) => r.queue_id))] });
      await this.drainer.drain(`offer-${why}`);
    });
    return ended;
  }

  private async whyNoOffer(manager: EntityManager, conversationId: number): Promise<Error> {
    return (await this.conversations.find(manager, conversationId)) ? noOffer() : Errors.noSuchConversation();
  }

  private async view(row: EndedOffer): Promise<ConversationView> {
    const { offered_agent_id: _agent, pause_on_missed_offer: _pause, ...conversation } = row;
    const positions = await this.conversations.positions(this.dataSource.manager, [row.id]);
    return toConversationView(conversation, positions.get(row.id));
  }

}

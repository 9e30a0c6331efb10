import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig, AgentState, DomainEvents, SYSTEM_ACTOR } from '@cc/common';
import { recordEvent, withTransaction } from '@cc/database';
import { PresenceRepository } from './presence.repository';

/**
 * Ends wrap-ups when their time passes. A timer per wrap-up started on this instance ends it on
 * time; a periodic sweep over every expired wrap-up catches what a restart or another instance
 * missed. The clearing UPDATE is conditional, so exactly one instance ends each wrap-up.
 */
@Injectable()
export class WrapUpService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('WrapUp');
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: PresenceRepository,
    private readonly events: DomainEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.sweepTimer = setInterval(() => this.track(() => this.endExpired()), this.config.allocationSweepMs);
    this.sweepTimer.unref();
  }

  // Before any shutdown hook closes the pool, so no sweep runs against a closing database.
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  schedule(agentId: number, until: Date): void {
    if (this.stopped) return;
    this.cancel(agentId);
    // A little late rather than early: the database clock decides, and an early run would find nothing.
    const delay = Math.max(0, until.getTime() - Date.now()) + 25;
    const timer = setTimeout(() => {
      this.timers.delete(agentId);
      this.track(() => this.endExpired(agentId));
    }, delay);
    timer.unref();
    this.timers.set(agentId, timer);
  }

  cancel(agentId: number): void {
    clearTimeout(this.timers.get(agentId));
    this.timers.delete(agentId);
  }

  /** Ends every expired wrap-up (or only that agent's); answers how many ended here. */
  async endExpired(agentId?: number): Promise<number> {
    const changes = await withTransaction(this.dataSource, async (manager: EntityManager) => {
      const ended = await this.repo.endExpiredWrapUps(manager, agentId);
      const statuses = await this.repo.statusViews(manager, ended);
      // A paused agent stays paused through the end of its wrap-up; anyone else was in wrap-up.
      const from = (to: AgentState): AgentState => (to === 'paused' || to === 'offline' ? to : 'wrap-up');
      await this.repo.history(
        manager,
        statuses.map((s) => ({ agentId: s.id, from: from(s.state), to: s.state, reason: 'wrap-up-ended' })),
      );
      // A timer or the sweep ends a wrap-up: the system did it.
      for (const status of statuses) await recordEvent(manager, { type: 'agent.status.changed', conversationId: null, channel: null, actor: SYSTEM_ACTOR, data: status });
      return statuses;
    });
    for (const status of changes) this.events.publish('agent.status.changed', { agentId: status.id, status, reason: 'wrap-up-ended' });
    return changes.length;
  }

  private track(work: () => Promise<unknown>): void {
    if (this.stopped) return;
    const promise = work()
      .catch((err) => this.logger.error(`Ending wrap-ups failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }
}

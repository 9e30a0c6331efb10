import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig, AgentState, DomainEvents, SYSTEM_ACTOR } from '@cc/common';
import { DeadlineTimers, recordEvent, withTransaction } from '@cc/database';
import { PresenceRepository } from './presence.repository';

/**
 * Ends wrap-ups when their time passes. A timer per wrap-up started on this instance ends it on
 * time; a periodic sweep over every expired wrap-up catches what a restart or another instance
 * missed. The clearing UPDATE is conditional, so exactly one instance ends each wrap-up.
 */
@Injectable()
export class WrapUpService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('WrapUp');
  private readonly deadlines = new DeadlineTimers(
    (agentId) => this.endExpired(agentId),
    (err) => this.logger.error(`Ending wrap-ups failed: ${err instanceof Error ? err.message : String(err)}`),
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: PresenceRepository,
    private readonly events: DomainEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.deadlines.startSweep(this.config.allocationSweepMs);
  }

  // Before any shutdown hook closes the pool, so no sweep runs against a closing database.
  async onModuleDestroy(): Promise<void> {
    await this.deadlines.stop();
  }

  schedule(agentId: number, until: Date): void {
    this.deadlines.schedule(agentId, until);
  }

  cancel(agentId: number): void {
    this.deadlines.cancel(agentId);
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
}

import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AllocationRepository } from './allocation.repository';
import { AllocationService } from './allocation.service';
import { MAX_DECISIONS_PER_TRANSACTION } from './decision-queue';

/**
 * Hands waiting conversations to free agents, in the line's order (queue priority, then wait),
 * until no free agent can take any. Each step takes as many serviceable conversations as there
 * are free slots (in each queue at most its free members' slots, in all at most one decision
 * transaction's worth) and decides them together in one allocation-lock transaction: the
 * decisions, not this count, keep every capacity (they read the held slots under the lock).
 * Calls on one instance coalesce (one loop runs; a call during it makes it go round once more);
 * instances serialise on the allocation lock.
 */
@Injectable()
export class Drainer implements OnApplicationShutdown {
  private readonly logger = new Logger('Allocation');
  private draining = false;
  private drainAgain = false;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
    private readonly allocation: AllocationService,
  ) {}

  onApplicationShutdown(): void {
    this.closed = true;
  }

  async drain(trigger: string): Promise<void> {
    if (this.closed) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        const tried: number[] = [];
        for (;;) {
          if (this.closed) return;
          const free = await this.repo.freeAgents(this.dataSource.manager);
          if (!free.length) break;
          const slots = free.reduce((sum, f) => sum + f.room, 0);
          const next = await this.repo.serviceable(this.dataSource.manager, tried, free, Math.min(slots, MAX_DECISIONS_PER_TRANSACTION));
          if (!next.length) break;
          tried.push(...next.map((c) => c.id));
          // A decision that failed leaves its conversation waiting (the sweep looks again); the others of its step stand.
          const failed = await this.allocation.allocateDrained(next, trigger);
          for (const f of failed) if (!this.closed) this.logger.error(`Drain decision for conversation ${f.conversationId} failed: ${(f.error as Error)?.stack ?? f.error}`);
        }
      } while (this.drainAgain);
    } catch (err) {
      if (!this.closed) this.logger.error(`Drain failed: ${(err as Error).stack ?? err}`);
    } finally {
      this.draining = false;
    }
  }
}

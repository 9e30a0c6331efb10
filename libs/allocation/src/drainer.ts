import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AllocationRepository } from './allocation.repository';
import { AllocationService } from './allocation.service';

/**
 * Hands waiting conversations to free agents, oldest first, until no free agent can take any.
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
          const free = await this.repo.freeAgentIds(this.dataSource.manager);
          if (!free.length) break;
          const next = await this.repo.nextServiceable(this.dataSource.manager, tried, free);
          if (next === null) break;
          tried.push(next);
          await this.allocation.allocateWaiting(next, trigger);
        }
      } while (this.drainAgain);
    } catch (err) {
      if (!this.closed) this.logger.error(`Drain failed: ${(err as Error).stack ?? err}`);
    } finally {
      this.draining = false;
    }
  }
}

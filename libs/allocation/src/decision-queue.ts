import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { BatchQueue, Settled, timedLockHold, withTransaction } from '@cc/database';
import { AllocationRepository } from './allocation.repository';

export type Decision<T = unknown> = (manager: EntityManager) => Promise<T>;

const MAX_DECISIONS_PER_TRANSACTION = 50;

/**
 * Runs decisions about already stored conversations holding the allocation lock. Decisions of
 * this instance queue here rather than on the advisory lock (a transaction waiting for the lock
 * would hold a pool connection other requests need), and the ones that queued up meanwhile are
 * taken together in one transaction: one lock, one commit (group commit, BatchQueue).
 */
@Injectable()
export class DecisionQueue {
  private readonly queue = new BatchQueue<Decision, unknown>((batch) => this.decideBatch(batch), MAX_DECISIONS_PER_TRANSACTION);

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
  ) {}

  push<T>(work: Decision<T>): Promise<T> {
    return this.queue.push(work) as Promise<T>;
  }

  private async decideBatch(batch: Decision[]): Promise<Settled<unknown>[]> {
    try {
      const values = await this.lockedTransaction(async (manager) => {
        const out: unknown[] = [];
        for (const work of batch) out.push(await work(manager));
        return out;
      }, batch.length);
      return values.map((value) => ({ ok: true, value }));
    } catch (err) {
      if (batch.length === 1) throw err;
      // One decision failed and took the shared transaction with it: take each on its own.
      const settled: Settled<unknown>[] = [];
      for (const work of batch) settled.push(await this.lockedTransaction(work).then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error })));
      return settled;
    }
  }

  /**
   * The commit does not wait for the WAL flush: the lock is held until commit, so a flush per
   * decision would cap allocation at one disk sync each. A crash can lose only the newest
   * decisions (never a conversation or its messages, committed durably before), and the sweep
   * allocates those conversations again; WAL order keeps every later durable commit consistent.
   */
  private lockedTransaction<T>(work: Decision<T>, decisions = 1): Promise<T> {
    // The hold time (lock acquired → committed) feeds cc_allocation_lock_hold_seconds.
    return timedLockHold(decisions, (held) =>
      withTransaction(this.dataSource, async (manager) => {
        await this.repo.lockForDecisions(manager);
        held();
        return work(manager);
      }),
    );
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { BatchQueue, isDatabaseUnavailable, Settled } from '@cc/database';
import { ConversationsRepository, StartedRow, StartRequest } from './conversations.repository';

const MAX_BATCH = 200;

/**
 * Group commit of conversation starts, like MessageWriter for messages: starts that arrive while
 * one is being stored go together in one statement and one durable commit, so a burst pays one
 * WAL flush per batch rather than per start (an idle writer waits for the end of the event
 * loop's turn, so the starts of the requests read in one turn go in its first statement). Each
 * caller resolves once its row is committed.
 */
@Injectable()
export class StartWriter {
  private readonly batches: BatchQueue<StartRequest, StartedRow | undefined>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: ConversationsRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // An idle writer gathers the starts of one turn of the event loop into its first statement.
    this.batches = new BatchQueue<StartRequest, StartedRow | undefined>((batch) => this.insert(batch), MAX_BATCH, config.maxPendingWrites, { gatherTurn: true });
  }

  /** Stores the start (routed, with its first text and events); undefined when no queue matched. */
  start(request: StartRequest): Promise<StartedRow | undefined> {
    return this.batches.push(request);
  }

  /**
   * A batch the database refuses as a whole (one customer with an open conversation already) is
   * retried start by start, so only that caller gets the error; an unreachable database fails all.
   */
  private async insert(batch: StartRequest[]): Promise<Settled<StartedRow | undefined>[]> {
    try {
      return (await this.repo.startBatch(this.dataSource.manager, batch)).map((value) => ({ ok: true, value }));
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) throw err;
    }
    const results: Settled<StartedRow | undefined>[] = [];
    for (const request of batch) {
      try {
        results.push({ ok: true, value: (await this.repo.startBatch(this.dataSource.manager, [request]))[0] });
      } catch (error) {
        results.push({ ok: false, error });
      }
    }
    return results;
  }
}

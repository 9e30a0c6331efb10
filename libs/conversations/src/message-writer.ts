import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { BatchLanes, isDatabaseUnavailable, Settled, writeLanes } from '@cc/database';
import { MessagesRepository, StoredMessageRow, WriteRequest } from './messages.repository';

/** The stored row with the conversation's parties, or null when nothing was stored (see MessagesService for why). */
export type WriteResult = StoredMessageRow | null;

const MAX_BATCH = 500;
const DEADLOCK = '40P01';

/**
 * Group commit: messages that arrive while a write is in flight are stored together by the
 * next one, in a single statement and transaction. Each caller still resolves only after its
 * row is committed, so a message is durable before it is acknowledged or pushed; an idle
 * system writes each message at once, a busy one pays one commit per batch instead of per message.
 *
 * Up to writeLanes(config) batches are in flight at once (BatchLanes keyed by conversation id),
 * never two with the same conversation: a message waits only while a message of its own
 * conversation is being stored, not for another conversation's commit. One batch at a time per
 * conversation, on purpose: its ids are taken and committed in the same order, so a client that
 * saw message N of a conversation and syncs after N (messages.sync, GET ...messages?after=) can
 * never miss an earlier id of it. Across conversations ids may commit out of order; every reader
 * of ids is per conversation.
 */
@Injectable()
export class MessageWriter {
  private readonly batches: BatchLanes<WriteRequest, WriteResult>;

  constructor(
    private readonly repo: MessagesRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.batches = new BatchLanes<WriteRequest, WriteResult>((batch) => this.insert(batch), MAX_BATCH, writeLanes(config), (r) => r.conversationId, config.maxPendingWrites);
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.batches.push(request);
  }

  /** Batches that may be in flight at once. */
  get lanes(): number {
    return this.batches.lanes;
  }

  /** Messages accepted and not yet answered (a graceful shutdown waits for them). */
  get pending(): number {
    return this.batches.size;
  }

  idle(): Promise<void> {
    return this.batches.idle();
  }

  /**
   * A batch that fails as a whole (one row the database refuses) is retried row by row, so only
   * that row's sender gets the error. A database that cannot be reached fails every row at once:
   * retrying each would only multiply the wait.
   */
  private async insert(batch: WriteRequest[]): Promise<Settled<WriteResult>[]> {
    try {
      return (await this.store(batch)).map((value) => ({ ok: true, value }));
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) throw err;
    }
    const results: Settled<WriteResult>[] = [];
    for (const request of batch) {
      try {
        results.push({ ok: true, value: (await this.store([request]))[0] });
      } catch (error) {
        results.push({ ok: false, error });
      }
    }
    return results;
  }

  private async store(batch: WriteRequest[]): Promise<WriteResult[]> {
    // The statement's conversation row locks (held to the commit, taken before
    // the ids) make every other writer of a conversation wait, another instance's batch or a
    // channel post's transaction (insertOne), so one conversation's ids commit in order across
    // instances too, and its events reach the outbox in that order.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.repo.insertBatch(batch);
      } catch (err) {
        // The statement is atomic: after a deadlock nothing was stored and it may simply run again.
        if ((err as { code?: string }).code !== DEADLOCK || attempt >= 3) throw err;
      }
    }
  }
}

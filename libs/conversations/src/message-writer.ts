import { Injectable } from '@nestjs/common';
import { BatchQueue, OutboxSubscriptions, Settled } from '@cc/database';
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
 */
@Injectable()
export class MessageWriter {
  // One batch at a time (BatchQueue's rule), on purpose: ids are taken and committed in the same
  // order, so a client that saw message N and syncs after N can never miss an earlier id.
  private readonly batches = new BatchQueue<WriteRequest, WriteResult>((batch) => this.insert(batch), MAX_BATCH);

  constructor(
    private readonly repo: MessagesRepository,
    private readonly subscriptions: OutboxSubscriptions,
  ) {}

  write(request: WriteRequest): Promise<WriteResult> {
    return this.batches.push(request);
  }

  private async insert(batch: WriteRequest[]): Promise<Settled<WriteResult>[]> {
    // Conversation row locks order the events of a conversation; only needed while message.created is subscribed.
    const ordered = this.subscriptions.wants('message.created');
    for (let attempt = 1; ; attempt++) {
      try {
        const rows = await this.repo.insertBatch(batch, ordered);
        return this.settle(batch, rows).map((value) => ({ ok: true, value }));
      } catch (err) {
        // The statement is atomic: after a deadlock nothing was stored and it may simply run again.
        if ((err as { code?: string }).code !== DEADLOCK || attempt >= 3) throw err;
      }
    }
  }

  /** Hands each caller its row; identical requests in one batch get rows in insertion order. */
  private settle(batch: WriteRequest[], rows: StoredMessageRow[]): WriteResult[] {
    const used = new Set<StoredMessageRow>();
    return batch.map((p) => {
      const senderType = p.role === 'admin' ? 'system' : p.role;
      const row = rows.find(
        (r) =>
          !used.has(r) &&
          r.conversation_id === p.conversationId &&
          r.sender_type === senderType &&
          r.sender_id === p.senderId &&
          r.client_message_id === p.clientMessageId &&
          r.text === p.text,
      );
      if (row) used.add(row);
      return row ?? null;
    });
  }
}

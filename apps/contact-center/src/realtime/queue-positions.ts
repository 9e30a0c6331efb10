import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationView } from '@cc/common';
import { ConversationsRepository, toConversationView } from '@cc/conversations';
import { estimateWait, StatsService } from '@cc/statistics';
import { rooms, SocketHub } from './server-events';

// Positions move in bursts (a whole line shifts at each assignment): recompute each queue at most
// once per window, whatever the number of events. Each recompute costs a frame per waiting
// customer, so the window grows with the line: a line of 10,000 costs about PUSH_BUDGET_PER_S
// pushes a second (not 10,000 per dequeue), and everyone still hears within MAX_WINDOW_MS.
const MIN_WINDOW_MS = 100;
const MAX_WINDOW_MS = 2500;
const PUSH_BUDGET_PER_S = 4000;

/** How long to gather position changes before recomputing, for a line of `waiting`. */
export function positionWindowMs(waiting: number): number {
  return Math.round(Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, (waiting / PUSH_BUDGET_PER_S) * 1000)));
}

/**
 * Sends a waiting customer `conversation.queued` when its conversation starts waiting and each
 * time its position changes, never twice for the same position (this instance remembers what it
 * last sent for each waiting conversation). Each push carries the wait estimate for that position.
 * Pushes leave in the order they were decided (one chain), so a late estimate never overtakes a
 * newer position.
 */
@Injectable()
export class QueuePositions implements OnModuleDestroy {
  private readonly logger = new Logger('QueuePositions');
  /** conversation id → the queue and position last sent for it. */
  private readonly sent = new Map<number, { queueId: number; position: number }>();
  private readonly dirty = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  /** Waiting conversations seen by the last recompute (sets the next window). */
  private lineLength = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly conversations: ConversationsRepository,
    private readonly hub: SocketHub,
    private readonly stats: StatsService,
  ) {}

  onModuleDestroy(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  queued(conversation: ConversationView): void {
    if (conversation.position === undefined) return this.changed([conversation.queueId]);
    if (!this.remember(conversation)) return;
    this.serial(async () => this.deliver([conversation], await this.stats.secondsPerPlace([conversation.queueId])));
  }

  /** The conversation left the waiting line. */
  left(conversationId: number): void {
    this.sent.delete(conversationId);
  }

  changed(queueIds: number[]): void {
    for (const id of queueIds) this.dirty.add(id);
    if (!this.timer && !this.closed) this.timer = setTimeout(() => this.serial(() => this.flush()), positionWindowMs(this.lineLength));
  }

  async flush(): Promise<void> {
    this.timer = null;
    const queueIds = new Set(this.dirty);
    this.dirty.clear();
    if (!queueIds.size || this.closed) return;
    const rows = await this.conversations.waitingLine(this.dataSource.manager, [...queueIds]);
    this.lineLength = rows.length;
    const waiting = new Set(rows.map((r) => r.id));
    for (const [id, last] of this.sent) if (queueIds.has(last.queueId) && !waiting.has(id)) this.sent.delete(id);
    const moved = new Map(rows.filter((r) => this.sent.get(r.id)?.position !== r.position).map((r) => [r.id, r.position]));
    if (!moved.size) return;
    const changed = await this.conversations.queuedByIds(this.dataSource.manager, [...moved.keys()]);
    // Front of the line first: those about to be served hear it soonest.
    changed.sort((a, b) => (moved.get(a.id) as number) - (moved.get(b.id) as number));
    const views = changed.map((row) => toConversationView(row, moved.get(row.id))).filter((v) => this.remember(v));
    if (views.length) this.deliver(views, await this.stats.secondsPerPlace(views.map((v) => v.queueId)));
  }

  /** True when this position is news for the customer (and notes it as sent). */
  private remember(conversation: ConversationView): boolean {
    if (this.sent.get(conversation.id)?.position === conversation.position) return false;
    this.sent.set(conversation.id, { queueId: conversation.queueId, position: conversation.position! });
    return true;
  }

  private deliver(views: ConversationView[], perPlace: Map<number, number | null>): void {
    for (const view of views) {
      const conversation = { ...view, estimatedWaitSeconds: estimateWait(view.position, perPlace.get(view.queueId) ?? null) };
      this.hub.send(rooms.customer(conversation.customerId), 'conversation.queued', { conversation });
    }
  }

  private serial(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err) => {
      if (!this.closed) this.logger.warn(`Position update failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

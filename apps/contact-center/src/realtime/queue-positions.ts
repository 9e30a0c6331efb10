import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationView } from '@cc/common';
import { ConversationsRepository, WaitingLineRow, waitingLineView } from '@cc/conversations';
import { estimateWait, StatsService } from '@cc/statistics';
import { inTurns } from './in-turns';
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
 * Pushes sent per turn of the event loop: a line of 10,000 pushed in one go held the loop for
 * 0.5–1.8 s (every ack of every socket waited behind it); a slice of this many takes a few ms on
 * a quiet machine, but up to tens of ms on one short of CPU, so a turn also ends once it has
 * taken PUSH_TURN_BUDGET_MS.
 */
export const PUSHES_PER_TURN = 100;
export const PUSH_TURN_BUDGET_MS = 3;
/**
 * A recompute behind this schedule goes back to PUSHES_PER_TURN a turn: with the longest window
 * (MAX_WINDOW_MS) the back of the line still hears within 5 s. A time bound alone stretched a
 * recompute of 10,000 past that at load 11–15 (781–8,739 customers silent over 5 s).
 */
export const PUSHES_FINISH_WITHIN_MS = 1500;

/** What this instance last sent for a waiting conversation; `stale` once the conversation left the line or was placed anew. */
interface Sent {
  queueId: number;
  position: number;
  /** When it was noted (this instance's count of notes): a recompute whose read began before knows less. */
  noted: number;
  stale?: boolean;
}

/** Bounds on what this instance remembers: at most this many conversations, pruned this often. */
export const MAX_REMEMBERED_POSITIONS = 100_000;
const PRUNE_MS = 60_000;

/**
 * Sends a waiting customer `conversation.queued` when its conversation starts waiting and each
 * time its position changes, never twice for the same position (this instance remembers what it
 * last sent for each waiting conversation). Each push carries the wait estimate for that position.
 * Pushes leave in the order they were decided (one chain), so a late estimate never overtakes a
 * newer position; a long line leaves in slices (PUSHES_PER_TURN, PUSH_TURN_BUDGET_MS), the front first, and a push
 * whose conversation left the line or was placed anew while the slices before it went out is not
 * sent (its newer news is).
 */
@Injectable()
export class QueuePositions implements OnModuleDestroy {
  private readonly logger = new Logger('QueuePositions');
  /** conversation id → the queue and position last sent for it. */
  private readonly sent = new Map<number, Sent>();
  private readonly dirty = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  /** Positions noted so far (orders the notes against the recomputes' reads). */
  private notes = 0;
  /** Waiting conversations seen by the last recompute (sets the next window). */
  private lineLength = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly conversations: ConversationsRepository,
    private readonly hub: SocketHub,
    private readonly stats: StatsService,
  ) {}

  private readonly pruner = setInterval(() => this.serial(() => this.prune()), PRUNE_MS).unref();

  onModuleDestroy(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.pruner);
  }

  /** Conversations remembered now (for tests and metrics). */
  get remembered(): number {
    return this.sent.size;
  }

  /**
   * Forgets conversations that are no longer waiting although this instance heard nothing (they
   * were assigned or resolved on another instance, or their queue's line was never recomputed
   * here), so the memory follows the waiting line and not every conversation ever queued.
   */
  async prune(): Promise<void> {
    if (!this.sent.size || this.closed) return;
    const ids = [...this.sent.keys()];
    const still = new Set<number>();
    for (let i = 0; i < ids.length; i += 1000) {
      for (const row of await this.conversations.queuedByIds(this.dataSource.manager, ids.slice(i, i + 1000))) still.add(row.id);
    }
    for (const id of ids) if (!still.has(id)) this.sent.delete(id);
  }

  queued(conversation: ConversationView): void {
    if (conversation.position === undefined) return this.changed([conversation.queueId]);
    const sent = this.remember(conversation.id, conversation.queueId, conversation.position);
    if (!sent) return;
    this.serial(async () => {
      const perPlace = await this.stats.secondsPerPlace([conversation.queueId]);
      if (!sent.stale) this.push(conversation, perPlace);
    });
  }

  /** The conversation left the waiting line. */
  left(conversationId: number): void {
    const sent = this.sent.get(conversationId);
    if (sent) sent.stale = true;
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
    // Whole rows with their places, front of the line first: those about to be served hear it soonest.
    const readFrom = this.notes;
    const line = await this.conversations.waitingLine(this.dataSource.manager, [...queueIds]);
    this.lineLength = line.length;
    const waiting = new Set(line.map((r) => r.id));
    // What was noted while the line was read (a conversation that just started waiting, or was placed
    // again) may be newer than the read: it is left to the next recompute.
    const newer = (last: Sent | undefined) => last !== undefined && last.noted > readFrom;
    for (const [id, last] of this.sent) if (queueIds.has(last.queueId) && !waiting.has(id) && !newer(last)) this.sent.delete(id);
    const moved: { row: WaitingLineRow; sent: Sent }[] = [];
    for (const row of line) {
      // An offered conversation keeps its place (others count it) but is told of its offer, not of a place.
      if (row.status !== 'queued' || newer(this.sent.get(row.id))) continue;
      const sent = this.remember(row.id, row.queue_id, row.position);
      if (sent) moved.push({ row, sent });
    }
    if (!moved.length) return;
    const perPlace = await this.stats.secondsPerPlace([...new Set(moved.map((m) => m.row.queue_id))]);
    await inTurns(moved, { perTurn: PUSHES_PER_TURN, budgetMs: PUSH_TURN_BUDGET_MS, finishWithinMs: PUSHES_FINISH_WITHIN_MS }, ({ row, sent }) => {
      if (!sent.stale && !this.closed) this.push(waitingLineView(row), perPlace);
    });
  }

  /** The record of this position when it is news for the customer (noted as sent), else null. */
  private remember(conversationId: number, queueId: number, position: number): Sent | null {
    const last = this.sent.get(conversationId);
    if (last?.position === position) return null;
    if (last) last.stale = true;
    this.sent.delete(conversationId);
    const sent: Sent = { queueId, position, noted: ++this.notes };
    this.sent.set(conversationId, sent);
    // Past the bound the longest-remembered is forgotten: at worst its customer hears a position twice.
    if (this.sent.size > MAX_REMEMBERED_POSITIONS) this.sent.delete(this.sent.keys().next().value!);
    return sent;
  }

  private push(view: ConversationView, perPlace: Map<number, number | null>): void {
    const conversation = { ...view, estimatedWaitSeconds: estimateWait(view.position, perPlace.get(view.queueId) ?? null) };
    this.hub.send(rooms.customer(conversation.customerId), 'conversation.queued', { conversation });
  }

  private serial(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err) => {
      if (!this.closed) this.logger.warn(`Position update failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

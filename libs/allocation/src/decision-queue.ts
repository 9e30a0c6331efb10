import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TransactionHooks } from '@cc/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConversationRow } from '@cc/conversations';
import { BatchQueue, Settled, timedLockHold, withTransaction } from '@cc/database';
import { AllocationRepository, BatchedDecision } from './allocation.repository';
import { CandidatePool, CandidatesRepository, Member } from './candidates.repository';

/** A decision's work: its result, or a Deferred one the batch's flush fills in. */
export type Decision<T = unknown> = (manager: EntityManager, batch: DecisionBatch) => Promise<T | Deferred<T>>;

/** A decision's result once its batch has written it (DecisionBatch.flush). */
export class Deferred<T> {
  private done = false;
  private value?: T;

  set(value: T): void {
    this.value = value;
    this.done = true;
  }

  get(): T {
    if (!this.done) throw new Error('Decision not written: its batch was not flushed');
    return this.value as T;
  }
}

export function settledValue<T>(value: T | Deferred<T>): T {
  return value instanceof Deferred ? value.get() : value;
}

/** A write joining the batch's statement, what follows it once its row is known, and its result. */
interface PendingWrite {
  write: BatchedDecision;
  then: (row: ConversationRow) => Promise<ConversationRow>;
  result: Deferred<ConversationRow>;
}

type BatchWriter = (manager: EntityManager, writes: BatchedDecision[]) => Promise<Map<number, ConversationRow>>;

interface Pending {
  work: Decision;
  /** The stored conversation the decision is about, locked with the others of its batch up front. */
  conversationId?: number;
}

/** Eligible members a decision reads beyond one per decision of its batch (see DecisionBatch.limit). */
const SPARE_CANDIDATES = 10;

/**
 * What the decisions of one transaction share, so that a batch reads each queue's members once
 * and each decision costs its own write only. Everything here was read under the allocation lock
 * in this transaction and is updated by the batch's own decisions, the only writers of loads
 * while the lock is held (others only free slots, which the drain after them hands out).
 */
export class DecisionBatch {
  /** The batch's conversations, row-locked in one statement, as the batch last wrote them. */
  readonly conversations = new Map<number, ConversationRow>();
  private readonly queues = new Map<number, CandidatePool['queue']>();
  /** By queue and channel: the ranked members were read for a conversation on that channel. */
  private readonly pools = new Map<string, CandidatePool>();
  /** One object per agent, shared by every queue it is a member of. */
  private readonly agents = new Map<number, Member>();
  /** The transaction's now(): what the database writes as the agent's last_assigned_at. */
  private now: Date | null = null;
  private pending: PendingWrite[] = [];
  private writer: BatchWriter | null = null;

  /** `size`: the decisions of the batch. */
  constructor(private readonly size = 1) {}

  /**
   * How many eligible members a read takes: one more than the batch's decisions and some spare,
   * so the batch's own assignments (which move the agents they load later in the order) rarely
   * exhaust what it read (then the decision reads again, see Decider).
   */
  get limit(): number {
    return this.size + SPARE_CANDIDATES;
  }

  /** Queues a decision's write for the batch's statement; its result is set when the batch flushes. */
  defer(write: BatchedDecision, writer: BatchWriter, then: PendingWrite['then']): Deferred<ConversationRow> {
    this.writer = writer;
    const result = new Deferred<ConversationRow>();
    this.pending.push({ write, then, result });
    return result;
  }

  isPending(conversationId: number): boolean {
    return this.pending.some((p) => p.write.conversationId === conversationId);
  }

  /** Writes the queued decisions in one statement, then runs what follows each, in their order. */
  async flush(manager: EntityManager): Promise<void> {
    if (!this.pending.length) return;
    const pending = this.pending;
    this.pending = [];
    const rows = await this.writer!(manager, pending.map((p) => p.write));
    for (const p of pending) {
      const row = rows.get(p.write.conversationId);
      if (!row) throw new Error(`Decision for conversation ${p.write.conversationId} wrote no row`);
      const value = await p.then(row);
      this.conversations.set(value.id, value);
      p.result.set(value);
    }
  }

  /** Agents whose load moved their state (by reason), recorded once for the batch before its commit. */
  private readonly moved = new Map<string, Set<number>>();

  loadChanged(agentIds: number[], reason: string): void {
    const set = this.moved.get(reason) ?? new Set<number>();
    for (const id of agentIds) set.add(id);
    this.moved.set(reason, set);
  }

  /** The batch's `agent.load.changed`, one per reason, run by the queue after its decisions. */
  async recordLoadChanges(hooks: TransactionHooks, manager: EntityManager): Promise<void> {
    for (const [reason, ids] of this.moved) await hooks.run('agent.load.changed', manager, { agentIds: [...ids], reason });
    this.moved.clear();
  }

  /** The members kept for a conversation on `channel` in that queue, with the queue as the batch left it. */
  context(queueId: number, channel: string): CandidatePool | undefined {
    const pool = this.pools.get(`${queueId}/${channel}`);
    return pool && { ...pool, queue: this.queues.get(queueId)! };
  }

  /**
   * Keeps a queue's members read in this transaction for conversations on `channel`; answers
   * them, sharing agents already kept (their loads as the batch's decisions left them, which the
   * database has too once flushed).
   */
  remember(pool: CandidatePool, channel: string, now: Date): CandidatePool {
    this.now = now;
    const members = pool.members.map((m) => this.agents.get(m.agentId) ?? (this.agents.set(m.agentId, m), m));
    const queue = this.queues.get(pool.queue.id) ?? pool.queue;
    this.queues.set(queue.id, queue);
    const kept = { ...pool, queue, members };
    this.pools.set(`${queue.id}/${channel}`, kept);
    return kept;
  }

  /** After a decision was written: the conversation as it is now and, when an agent took a slot, its load and the queue's round-robin mark. */
  decided(row: ConversationRow, agentId: number | null): void {
    this.conversations.set(row.id, row);
    if (agentId === null || (row.status !== 'active' && row.status !== 'offered')) return;
    const queue = this.queues.get(row.queue_id);
    if (queue) this.queues.set(row.queue_id, { ...queue, last_assigned_agent_id: agentId });
    const agent = this.agents.get(agentId);
    if (!agent) return;
    agent.active += 1;
    agent.byChannel = { ...agent.byChannel, [row.channel]: (agent.byChannel?.[row.channel] ?? 0) + 1 };
    agent.lastAssignedAt = this.now;
  }
}

export const MAX_DECISIONS_PER_TRANSACTION = 200;

/**
 * Runs decisions about already stored conversations holding the allocation lock. Decisions of
 * this instance queue here rather than on the advisory lock (a transaction waiting for the lock
 * would hold a pool connection other requests need), and the ones that queued up meanwhile are
 * taken together in one transaction: one lock, one commit (group commit, BatchQueue).
 */
@Injectable()
export class DecisionQueue {
  private readonly queue: BatchQueue<Pending, unknown>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
    private readonly candidates: CandidatesRepository,
    private readonly hooks: TransactionHooks,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Bounded like the message writer: past MAX_PENDING_WRITES a decision is refused with a 503
    // (the conversation is already stored, waiting; the sweep decides it later).
    // An idle queue gathers the decisions of one turn of the event loop (a start batch's answers
    // all arrive in one) into its first transaction, rather than the first going alone.
    this.queue = new BatchQueue<Pending, unknown>((batch) => this.decideBatch(batch), MAX_DECISIONS_PER_TRANSACTION, config.maxPendingWrites, { gatherTurn: true });
  }

  /** Queues a decision; `conversationId` names the stored conversation it is about, so a batch locks them all in one statement. */
  push<T>(work: Decision<T>, conversationId?: number): Promise<T> {
    return this.queue.push({ work: work as Decision, conversationId }) as Promise<T>;
  }

  /** Queues decisions together, so that they share one transaction (up to MAX_DECISIONS_PER_TRANSACTION); one promise each, in order. */
  pushAll<T>(decisions: { work: Decision<T>; conversationId: number }[]): Promise<T>[] {
    return this.queue.pushAll(decisions as Pending[]) as Promise<T>[];
  }

  private async decideBatch(batch: Pending[]): Promise<Settled<unknown>[]> {
    try {
      const values = await this.lockedTransaction(async (manager, decisions) => {
        const ids = [...new Set(batch.flatMap((p) => (p.conversationId === undefined ? [] : [p.conversationId])))];
        if (ids.length > 1) {
          // The locks and the first decision's candidates in one round trip (the others of its queue and channel share them).
          const read = await this.candidates.lockConversationsWithCandidates(manager, ids, ids[0], { limit: decisions.limit });
          const locked = read?.conversations ?? (await this.candidates.lockConversations(manager, ids));
          for (const row of locked) decisions.conversations.set(row.id, row);
          if (read) decisions.remember(read.pool, read.channel, read.now);
        }
        const out: unknown[] = [];
        for (const { work } of batch) out.push(await work(manager, decisions));
        await decisions.flush(manager);
        return out;
      }, batch.length);
      return (settledValue(values) as unknown[]).map((value) => ({ ok: true, value: settledValue(value) }));
    } catch (err) {
      if (batch.length === 1) throw err;
      // One decision failed and took the shared transaction with it: take each on its own.
      const settled: Settled<unknown>[] = [];
      for (const { work } of batch) settled.push(await this.lockedTransaction(work).then((value) => ({ ok: true as const, value: settledValue(value) }), (error) => ({ ok: false as const, error })));
      return settled;
    }
  }

  /**
   * The commit does not wait for the WAL flush: the lock is held until commit, so a flush per
   * decision would cap allocation at one disk sync each. A crash can lose only the newest
   * decisions (never a conversation or its messages, committed durably before), and the sweep
   * allocates those conversations again; WAL order keeps every later durable commit consistent.
   */
  private lockedTransaction<T>(work: Decision<T>, decisions = 1): Promise<T | Deferred<T>> {
    // The hold time (lock acquired → committed) feeds cc_allocation_lock_hold_seconds.
    return timedLockHold(decisions, (held) =>
      withTransaction(this.dataSource, async (manager) => {
        await this.repo.lockForDecisions(manager);
        held();
        const batch = new DecisionBatch(decisions);
        const value = await work(manager, batch);
        await batch.flush(manager);
        await batch.recordLoadChanges(this.hooks, manager);
        return value;
      }),
    );
  }
}

import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { DomainEvents, Errors, ForbiddenError, Principal, TransactionHooks } from '@cc/common';
import { advisoryXactLock, afterCommit, BatchQueue, LockKey, returnedRows, Settled, timedLockHold, withTransaction } from '@cc/database';
import { QueuesService } from '@cc/queues';
import { AllocationOutcome, CandidateVerdict } from './allocation-decision.entity';
import { AllocationWebhook, WebhookAnswer } from './allocation-webhook';
import { ConversationRow, toConversationView } from './conversation-row';
import { Candidate, chooseOverflow, judge, JudgeOptions, orderByStrategy, Overflow, Strategy, Verdict } from './strategies';

interface Member extends Candidate {
  name: string;
}

interface QueueRow {
  id: number;
  name: string;
  strategy: Strategy;
  overflow: Overflow;
  priority: number;
  webhook_url: string | null;
  webhook_timeout_ms: number;
  last_assigned_agent_id: number | null;
}

interface Choice {
  agent: Member | null;
  outcome: AllocationOutcome;
  verdicts: Verdict[];
}

export interface AllocationDecisionView {
  at: string;
  trigger: string;
  strategy: string;
  candidates: CandidateVerdict[];
  outcome: AllocationOutcome;
  agentId: number | null;
}

const CANDIDATE_COLUMNS = `
  a.id, a.name, a.skills, a.max_concurrent, coalesce(p.logged, false) AS logged, coalesce(p.paused, false) AS paused,
  p.wrap_up_until, p.last_assigned_at,
  (SELECT count(*)::int FROM conversations c WHERE c.agent_id = a.id AND c.status = 'active') AS active`;

const QUEUE_WITH_MEMBERS_SQL = `
  SELECT to_jsonb(q) AS queue, ${CANDIDATE_COLUMNS} FROM queues q
  LEFT JOIN queue_members m ON m.queue_id = q.id
  LEFT JOIN agents a ON a.id = m.agent_id LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE q.id = $1 ORDER BY a.id`;

const LOCKED_CONTEXT_SQL = `
  SELECT to_jsonb(c) AS conversation, to_jsonb(q) AS queue, ${CANDIDATE_COLUMNS} FROM conversations c
  JOIN queues q ON q.id = c.queue_id
  LEFT JOIN queue_members m ON m.queue_id = q.id
  LEFT JOIN agents a ON a.id = m.agent_id LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE c.id = $1 ORDER BY a.id FOR UPDATE OF c`;

const AGENTS_SQL = `
  SELECT ${CANDIDATE_COLUMNS} FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id
  WHERE a.id = ANY($1::int[]) ORDER BY a.id`;

/** Members that could take a conversation now: logged in, not paused, out of wrap-up, below capacity. */
const FREE_AGENTS_SQL = `
  SELECT a.id FROM agents a JOIN agent_presence p ON p.agent_id = a.id
  WHERE p.logged AND NOT p.paused AND (p.wrap_up_until IS NULL OR p.wrap_up_until <= now())
    AND (SELECT count(*) FROM conversations x WHERE x.agent_id = a.id AND x.status = 'active') < a.max_concurrent`;

/** The oldest waiting conversation (higher queue priority first) that one of the free agents may take. */
const NEXT_SERVICEABLE_SQL = `
  SELECT c.id FROM conversations c JOIN queues q ON q.id = c.queue_id
  WHERE c.status = 'queued' AND NOT (c.id = ANY($1::int[]))
    AND EXISTS (
      SELECT 1 FROM queue_members m JOIN agents a ON a.id = m.agent_id
      WHERE m.queue_id = c.queue_id AND m.agent_id = ANY($2::int[])
        AND (cardinality(a.skills) = 0 OR c.channel = ANY(a.skills)))
  ORDER BY q.priority DESC, c.waiting_since NULLS LAST, c.id
  LIMIT 1`;

/** 1-based place of each conversation in its queue's waiting line, counted on the waiting-line index. */
const POSITIONS_SQL = `
  SELECT c.id, (SELECT count(*)::int FROM conversations w
                WHERE w.status = 'queued' AND w.queue_id = c.queue_id AND (w.waiting_since, w.id) <= (c.waiting_since, c.id)) AS position
  FROM conversations c WHERE c.id = ANY($1::int[]) AND c.status = 'queued' AND c.waiting_since IS NOT NULL`;

type Decision = (manager: EntityManager) => Promise<unknown>;

const MAX_DECISIONS_PER_TRANSACTION = 50;

/** Triggers by which a conversation enters a waiting line (its customer is told its position). */
const ENTRY_TRIGGERS = new Set(['conversation-started', 'transfer']);

/**
 * Decides who takes a conversation. Every automatic decision runs in one transaction holding
 * one cluster-wide advisory lock, so no interleaving of instances can read a stale load and
 * exceed an agent's capacity, and a slot freed during a decision is never missed: the drain
 * that follows it waits for the lock and sees the committed state.
 */
@Injectable()
export class AllocationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Allocation');
  private draining = false;
  private drainAgain = false;
  private closed = false;
  private readonly decisionQueue = new BatchQueue<Decision, unknown>((batch) => this.decideBatch(batch), MAX_DECISIONS_PER_TRANSACTION);

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
    private readonly hooks: TransactionHooks,
    private readonly webhook: AllocationWebhook,
    private readonly queues: QueuesService,
  ) {}

  onModuleInit(): void {
    this.hooks.register('agent.released', async (manager, { agentId, reason }) => {
      await this.requeueAgent(manager, agentId, reason);
    });
  }

  onApplicationShutdown(): void {
    this.closed = true;
  }

  /**
   * Allocates a queued conversation inside the caller's transaction. Pass the row when the
   * caller created or locked it in this transaction; an id is locked here.
   */
  async allocateInTransaction(manager: EntityManager, target: number | ConversationRow, trigger: string): Promise<ConversationRow> {
    await advisoryXactLock(manager, LockKey.Allocation);
    const conversation = typeof target === 'number' ? await this.lockConversation(manager, target) : target;
    if (conversation.status !== 'queued') return conversation;
    const { queue, members } = await this.queueWithMembers(manager, conversation.queue_id);
    const choice = this.choose(queue, conversation.channel, members);
    return this.apply(manager, conversation, queue, choice, trigger);
  }

  /** Allocates a conversation that is waiting now, consulting the queue's webhook when it has one. */
  async allocateWaiting(conversationId: number, trigger: string): Promise<ConversationRow | null> {
    const rows: (ConversationRow & { webhook_url: string | null })[] = await this.dataSource.query(
      `SELECT c.*, q.webhook_url FROM conversations c JOIN queues q ON q.id = c.queue_id WHERE c.id = $1`,
      [conversationId],
    );
    if (!rows.length || rows[0].status !== 'queued') return rows[0] ?? null;
    return this.allocateNew(rows[0], !!rows[0].webhook_url, trigger);
  }

  /** Allocates a conversation just stored (committed) in a queue with or without a webhook. */
  allocateNew(conversation: ConversationRow, viaWebhook: boolean, trigger: string): Promise<ConversationRow> {
    if (viaWebhook) return this.allocateViaWebhook(conversation, trigger);
    return this.decisionTransaction(async (manager) => {
      const { conversation: current, queue, members } = await this.lockedContext(manager, conversation.id);
      if (current.status !== 'queued') return current;
      return this.apply(manager, current, queue, this.choose(queue, current.channel, members), trigger);
    });
  }

  /**
   * Runs `work` (an allocation decision about an already stored conversation) holding the
   * allocation lock. Decisions of this instance queue here rather than on the advisory lock (a
   * transaction waiting for the lock would hold a pool connection other requests need), and the
   * ones that queued up meanwhile are taken together in one transaction: one lock, one commit.
   */
  private decisionTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.decisionQueue.push(work) as Promise<T>;
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
  private lockedTransaction<T>(work: (manager: EntityManager) => Promise<T>, decisions = 1): Promise<T> {
    return timedLockHold(decisions, (held) =>
      withTransaction(this.dataSource, async (manager) => {
        // One round trip, parameterless on purpose (the simple protocol takes two statements).
        await manager.query(`SET LOCAL synchronous_commit = off; SELECT pg_advisory_xact_lock(${LockKey.Allocation}, 0)`);
        held();
        return work(manager);
      }),
    );
  }

  /**
   * Hands waiting conversations to free agents, oldest first, until no free agent can take any.
   * Calls on one instance coalesce; instances serialise on the allocation lock.
   */
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
          const free: { id: number }[] = await this.dataSource.query(FREE_AGENTS_SQL);
          if (!free.length) break;
          const next: { id: number }[] = await this.dataSource.query(NEXT_SERVICEABLE_SQL, [tried, free.map((a) => a.id)]);
          if (!next.length) break;
          tried.push(next[0].id);
          await this.allocateWaiting(next[0].id, trigger);
        }
      } while (this.drainAgain);
    } catch (err) {
      if (!this.closed) this.logger.error(`Drain failed: ${(err as Error).stack ?? err}`);
    } finally {
      this.draining = false;
    }
  }

  /** Puts an agent's active conversations back in the waiting line, keeping their original wait. */
  async requeueAgent(manager: EntityManager, agentId: number, reason: string): Promise<ConversationRow[]> {
    const requeued = returnedRows<ConversationRow>(
      await manager.query(
        `UPDATE conversations SET status = 'queued', agent_id = NULL, assigned_at = NULL, waiting_since = coalesce(waiting_since, created_at)
         WHERE agent_id = $1 AND status = 'active' RETURNING *`,
        [agentId],
      ),
    );
    if (!requeued.length) return [];
    afterCommit(manager, async () => {
      const positions = await this.positions(requeued.map((r) => r.id));
      for (const row of requeued) {
        this.events.publish('conversation.requeued', { conversation: toConversationView(row, positions.get(row.id)), fromAgentId: agentId });
      }
      this.events.publish('queue.positions.changed', { queueIds: [...new Set(requeued.map((r) => r.queue_id))] });
      await this.drain(`agent-${reason}`);
    });
    return requeued;
  }

  /** Assigns to a named agent (manual assignment or transfer): allowed beyond capacity, recorded like any decision. */
  async assignTo(manager: EntityManager, conversation: ConversationRow, agentId: number, outcome: 'manual' | 'transfer', trigger: string): Promise<ConversationRow> {
    await advisoryXactLock(manager, LockKey.Allocation);
    const queue = await this.queue(manager, conversation.queue_id);
    const target = (await this.agentsAsCandidates(manager, [agentId]))[0];
    if (!target) throw Errors.noSuchAgent();
    const verdicts = [judge(target, conversation.channel, new Date())];
    return this.apply(manager, conversation, queue, { agent: target, outcome, verdicts }, trigger);
  }

  /** Whom automatic allocation would pick now for a conversation on `channel` in that queue; no side effect. */
  async preview(channel: string, queueId: number | undefined, options: JudgeOptions): Promise<number> {
    const queue = await this.queues.route(channel, queueId);
    const { queue: row, members } = await this.queueWithMembers(this.dataSource.manager, queue.id);
    const choice = this.choose(row, channel, members, options);
    if (!choice.agent) throw Errors.noAgentAvailable();
    return choice.agent.agentId;
  }

  async decisions(user: Principal, conversationId: number): Promise<AllocationDecisionView[]> {
    const conversation: { agent_id: number | null }[] = await this.dataSource.query(`SELECT agent_id FROM conversations WHERE id = $1`, [conversationId]);
    if (!conversation.length) throw Errors.noSuchConversation();
    if (user.role !== 'admin' && !(user.role === 'agent' && conversation[0].agent_id === user.id)) throw new ForbiddenError();
    const rows: { at: Date; trigger: string; strategy: string; candidates: CandidateVerdict[]; outcome: AllocationOutcome; agent_id: number | null }[] =
      await this.dataSource.query(`SELECT * FROM allocation_decisions WHERE conversation_id = $1 ORDER BY id`, [conversationId]);
    return rows.map((r) => ({ at: r.at.toISOString(), trigger: r.trigger, strategy: r.strategy, candidates: r.candidates, outcome: r.outcome, agentId: r.agent_id }));
  }

  /** Waiting positions of these conversations (1-based within their queue). */
  async positions(conversationIds: number[], manager: EntityManager = this.dataSource.manager): Promise<Map<number, number>> {
    if (!conversationIds.length) return new Map();
    const rows: { id: number; position: number }[] = await manager.query(POSITIONS_SQL, [conversationIds]);
    return new Map(rows.map((r) => [r.id, r.position]));
  }

  private async allocateViaWebhook(conversation: ConversationRow, trigger: string): Promise<ConversationRow> {
    const { queue, members } = await this.queueWithMembers(this.dataSource.manager, conversation.queue_id);
    const now = new Date();
    const candidates = members.filter((m) => judge(m, conversation.channel, now).eligible).map((m) => m.agentId);
    const customer: unknown[] = await this.dataSource.query(`SELECT id, name, email, external_id AS "externalId" FROM customers WHERE id = $1`, [conversation.customer_id]);
    const answer = candidates.length
      ? await this.webhook.ask(queue.webhook_url!, queue.webhook_timeout_ms, {
          conversation: toConversationView(conversation),
          customer: customer[0] ?? null,
          queue: { id: queue.id, name: queue.name, strategy: queue.strategy, overflow: queue.overflow },
          candidates,
        })
      : ({ kind: 'fallback', why: 'no eligible candidate' } as WebhookAnswer);

    return this.decisionTransaction(async (manager) => {
      const { conversation: current, members: fresh } = await this.lockedContext(manager, conversation.id);
      if (current.status !== 'queued') return current;
      const choice = this.choose(queue, current.channel, fresh);
      if (answer.kind === 'agent') {
        const verdict = choice.verdicts.find((v) => v.candidate.agentId === answer.agentId);
        if (verdict?.eligible) return this.apply(manager, current, queue, { ...choice, agent: verdict.candidate as Member, outcome: 'webhook' }, trigger);
      }
      if (answer.kind === 'wait') return this.apply(manager, current, queue, { ...choice, agent: null, outcome: 'webhook' }, trigger);
      const outcome: AllocationOutcome = !choice.agent ? 'queued' : choice.outcome === 'overflow' ? 'overflow' : candidates.length ? 'webhook-fallback' : 'assigned';
      return this.apply(manager, current, queue, { ...choice, outcome }, trigger);
    });
  }

  private choose(queue: QueueRow, channel: string, members: Member[], options: JudgeOptions = {}): Choice {
    const now = new Date();
    const verdicts = members.map((m) => judge(m, channel, now, options));
    const eligible = verdicts.filter((v) => v.eligible).map((v) => v.candidate);
    const best = orderByStrategy(queue.strategy, eligible, queue.last_assigned_agent_id)[0] as Member | undefined;
    if (best) return { agent: best, outcome: 'assigned', verdicts };
    const overflow = chooseOverflow(queue.overflow, members, channel) as Member | null;
    return overflow ? { agent: overflow, outcome: 'overflow', verdicts } : { agent: null, outcome: 'queued', verdicts };
  }

  /** Writes the decision (assignment or not) and publishes its events after commit. */
  private async apply(manager: EntityManager, conversation: ConversationRow, queue: QueueRow, choice: Choice, trigger: string): Promise<ConversationRow> {
    const candidates: CandidateVerdict[] = choice.verdicts.map((v) => ({
      agentId: v.candidate.agentId,
      eligible: v.eligible,
      reason: v.reason,
      active: v.candidate.active,
      maxConcurrent: v.candidate.maxConcurrent,
    }));
    const wasQueued = conversation.status === 'queued';
    const decision = [conversation.id, trigger, queue.strategy, JSON.stringify(candidates), choice.outcome, choice.agent?.agentId ?? null];
    if (!choice.agent) {
      // Joining the line happens here, under the lock: the line's order is then the order of
      // joining, so positions answered after commit are distinct and stable. A conversation
      // entering anew (start, transfer) starts its wait now; one already waiting keeps it.
      const since = ENTRY_TRIGGERS.has(trigger) ? 'clock_timestamp()' : 'coalesce(waiting_since, clock_timestamp())';
      // Under the lock every conversation that joined earlier has committed: the position
      // counted in the same statement is final.
      const [waiting]: ConversationRow[] = await manager.query(
        `WITH decision AS (
           INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id) VALUES ($1, $2, $3, $4, $5, $6)
         ), waiting AS (
           UPDATE conversations SET waiting_since = ${since} WHERE id = $1 RETURNING *
         )
         SELECT waiting.*, 1 + (SELECT count(*)::int FROM conversations w
                                WHERE w.status = 'queued' AND w.queue_id = waiting.queue_id AND w.id <> waiting.id
                                  AND (w.waiting_since, w.id) < (waiting.waiting_since, waiting.id)) AS position
         FROM waiting`,
        decision,
      );
      // A drain that leaves a conversation waiting changes nothing its customer needs to hear.
      if (!ENTRY_TRIGGERS.has(trigger) && conversation.waiting_since !== null) return waiting;
      afterCommit(manager, () => {
        this.events.publish('conversation.queued', { conversation: toConversationView(waiting, waiting.position) });
        this.events.publish('queue.positions.changed', { queueIds: [waiting.queue_id] });
      });
      return waiting;
    }
    const agent = choice.agent;
    // The decision, the assignment and the agent's and queue's bookkeeping in one round trip.
    const rows: ConversationRow[] = await manager.query(
      `WITH decision AS (
         INSERT INTO allocation_decisions (conversation_id, trigger, strategy, candidates, outcome, agent_id) VALUES ($1, $2, $3, $4, $5, $6)
       ), assigned AS (
         UPDATE conversations SET status = 'active', agent_id = $6, assigned_at = now() WHERE id = $1 RETURNING *
       ), presence AS (
         UPDATE agent_presence SET last_assigned_at = now() WHERE agent_id = $6
       ), queue AS (
         UPDATE queues SET last_assigned_agent_id = $6 WHERE id = $7
       )
       SELECT * FROM assigned`,
      [...decision, queue.id],
    );
    const assigned = rows[0];
    const previousAgentId = conversation.agent_id;
    afterCommit(manager, () => {
      this.events.publish('conversation.assigned', { conversation: toConversationView(assigned), agent: { id: agent.agentId, name: agent.name }, previousAgentId });
      if (wasQueued) this.events.publish('queue.positions.changed', { queueIds: [assigned.queue_id] });
    });
    return assigned;
  }

  private async lockConversation(manager: EntityManager, id: number): Promise<ConversationRow> {
    const rows: ConversationRow[] = await manager.query(`SELECT * FROM conversations WHERE id = $1 FOR UPDATE`, [id]);
    if (!rows.length) throw Errors.noSuchConversation();
    return rows[0];
  }

  private async queue(manager: EntityManager, id: number): Promise<QueueRow> {
    const rows: QueueRow[] = await manager.query(`SELECT * FROM queues WHERE id = $1`, [id]);
    if (!rows.length) throw Errors.noSuchQueue();
    return rows[0];
  }

  /** Under the allocation lock: the conversation (row-locked), its queue and the members' live load, in one round trip. */
  private async lockedContext(manager: EntityManager, conversationId: number): Promise<{ conversation: ConversationRow; queue: QueueRow; members: Member[] }> {
    const rows: (MemberRecord & { queue: QueueRow; conversation: ConversationRow })[] = await manager.query(LOCKED_CONTEXT_SQL, [conversationId]);
    if (!rows.length) throw Errors.noSuchConversation();
    const conversation = { ...rows[0].conversation, ...timestampsOf(rows[0].conversation) };
    return { conversation, queue: rows[0].queue, members: rows.filter((r) => r.id !== null).map(toMember) };
  }

  /** The queue and its members' live load in one round trip. */
  private async queueWithMembers(manager: EntityManager, queueId: number): Promise<{ queue: QueueRow; members: Member[] }> {
    const rows: (MemberRecord & { queue: QueueRow })[] = await manager.query(QUEUE_WITH_MEMBERS_SQL, [queueId]);
    if (!rows.length) throw Errors.noSuchQueue();
    return { queue: rows[0].queue, members: rows.filter((r) => r.id !== null).map(toMember) };
  }

  private async agentsAsCandidates(manager: EntityManager, agentIds: number[]): Promise<Member[]> {
    return (await manager.query(AGENTS_SQL, [agentIds])).map(toMember);
  }
}

/** to_jsonb() renders timestamps as text; the row type carries dates. */
function timestampsOf(row: ConversationRow): Pick<ConversationRow, 'created_at' | 'waiting_since' | 'assigned_at' | 'resolved_at'> {
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return { created_at: date(row.created_at)!, waiting_since: date(row.waiting_since), assigned_at: date(row.assigned_at), resolved_at: date(row.resolved_at) };
}

interface MemberRecord {
  id: number;
  name: string;
  skills: string[];
  max_concurrent: number;
  logged: boolean;
  paused: boolean;
  wrap_up_until: Date | null;
  last_assigned_at: Date | null;
  active: number;
}

function toMember(r: MemberRecord): Member {
  return {
    agentId: r.id,
    name: r.name,
    skills: r.skills,
    maxConcurrent: r.max_concurrent,
    active: r.active,
    logged: r.logged,
    paused: r.paused,
    wrapUpUntil: r.wrap_up_until,
    lastAssignedAt: r.last_assigned_at,
  };
}

import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Actor, DomainEvents, Errors, SYSTEM_ACTOR, TransactionHooks } from '@cc/common';
import { advisoryXactLock, afterCommit, LockKey, recordEvent } from '@cc/database';
import { ConversationRow, ConversationsRepository, ConversationsService, toConversationView } from '@cc/conversations';
import { QueuesService } from '@cc/queues';
import { AllocationOutcome, CandidateVerdict } from './allocation-decision.entity';
import { AllocationRepository, BatchedDecision } from './allocation.repository';
import { CandidatePool, CandidatesRepository, LOGGED_MEMBERS, Member, QueueRow, wholePool } from './candidates.repository';
import { Decision, DecisionBatch, DecisionQueue, Deferred } from './decision-queue';
import { chooseOverflow, judge, JudgeOptions, orderByStrategy, precedesUnread, preferFresh, Verdict } from './strategies';

export interface Choice {
  agent: Member | null;
  outcome: AllocationOutcome;
  verdicts: Verdict[];
}

/**
 * The one trigger that starts a conversation's wait anew: a transfer puts it at the back of its
 * new line. Any other decision that leaves a conversation waiting keeps the wait it has, and
 * starts one only when it has none. That includes a start's own decision, because the drain also
 * takes stored starts that have not decided yet (none is stranded by an instance that stopped
 * in between): a start decided after a drain left it waiting keeps that place.
 */
const RESTARTS_WAIT = 'transfer';

/** A decision logs every member's verdict up to this many; beyond, the chosen agent's and the first others' by id (all of which it read). */
const MAX_LOGGED_CANDIDATES = LOGGED_MEMBERS;

/** Eligible members read by a decision taken alone, outside the decision queue. */
const SINGLE_READ_LIMIT = 10;

/** Outcomes that become offers in a queue with `offerTimeoutSeconds` > 0 (overflow, transfer and manual assignment assign at once). */
const OFFERABLE = new Set<AllocationOutcome>(['assigned', 'webhook', 'webhook-fallback']);

/**
 * Decides who takes a conversation (choose) and writes the decision (apply). Every decision runs
 * holding one cluster-wide advisory lock, so no interleaving of instances can read a stale load
 * and exceed an agent's capacity, and a slot freed during a decision is never missed: the drain
 * that follows it waits for the lock and sees the committed state.
 */
@Injectable()
export class Decider {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
    private readonly repo: AllocationRepository,
    private readonly candidates: CandidatesRepository,
    private readonly decisions: DecisionQueue,
    private readonly conversations: ConversationsService,
    private readonly queues: QueuesService,
    private readonly hooks: TransactionHooks,
    private readonly lines: ConversationsRepository,
  ) {}

  /**
   * Allocates a queued conversation inside the caller's transaction. Pass the row when the
   * caller created or locked it in this transaction; an id is locked here.
   */
  async allocateInTransaction(manager: EntityManager, target: number | ConversationRow, trigger: string, actor: Actor = SYSTEM_ACTOR): Promise<ConversationRow> {
    await advisoryXactLock(manager, LockKey.Allocation);
    const conversation = typeof target === 'number' ? await this.conversations.find(manager, target, true) : target;
    if (conversation.status !== 'queued') return conversation;
    const { pool } = await this.candidates.candidates(manager, conversation.queue_id, conversation.channel, conversation.offer_passed_agent_ids ?? [], { limit: SINGLE_READ_LIMIT });
    const { queue, choice } = await this.chooseLocked(manager, null, conversation, pool);
    return this.apply(manager, conversation, queue, choice, trigger, actor);
  }

  /** Decides about a stored conversation by the queue's strategy, in the decision queue (see DecisionQueue). */
  decide(conversationId: number, trigger: string): Promise<ConversationRow> {
    return this.decisions.push(this.decision(conversationId, trigger), conversationId);
  }

  /** decide() for several conversations at once, queued together so they share one transaction (the drain's batch); one promise each, in order. */
  decideAll(conversationIds: number[], trigger: string): Promise<ConversationRow>[] {
    return this.decisions.pushAll(conversationIds.map((id) => ({ work: this.decision(id, trigger), conversationId: id })));
  }

  private decision(conversationId: number, trigger: string): Decision<ConversationRow> {
    return async (manager, batch) => {
      // Decided earlier in this batch and not yet written: write it first, then look again.
      if (batch.isPending(conversationId)) await batch.flush(manager);
      const locked = batch.conversations.get(conversationId);
      if (locked && locked.status !== 'queued') return locked;
      const { conversation: current, pool } = await this.context(manager, batch, conversationId);
      if (current.status !== 'queued') return current;
      const { queue, choice } = await this.chooseLocked(manager, batch, current, pool);
      return this.applyInBatch(manager, batch, current, queue, choice, trigger);
    };
  }

  /**
   * The conversation (locked) and its queue's candidates under the lock: in a batch, the
   * conversation was locked with the others up front and the candidates are read once per queue
   * and channel (then kept up to date by the batch's decisions); alone, both in one round trip.
   */
  private async context(manager: EntityManager, batch: DecisionBatch, conversationId: number): Promise<{ conversation: ConversationRow; pool: CandidatePool }> {
    const locked = batch.conversations.get(conversationId);
    if (!locked) {
      const { conversation, pool, now } = await this.candidates.lockedCandidates(manager, conversationId, { limit: batch.limit });
      return { conversation, pool: batch.remember(pool, conversation.channel, now) };
    }
    const kept = batch.context(locked.queue_id, locked.channel);
    if (kept) return { conversation: locked, pool: kept };
    const { pool, now } = await this.candidates.candidates(manager, locked.queue_id, locked.channel, locked.offer_passed_agent_ids ?? [], { limit: batch.limit });
    return { conversation: locked, pool: batch.remember(pool, locked.channel, now) };
  }

  /**
   * The queue's choice for a conversation from candidates read under the lock. When they cannot
   * tell (choose answers null: the batch's own decisions used up the best that were read, or
   * the overflow rule needs every member), the batch's decisions are written and the candidates
   * read again, then every member.
   */
  async chooseLocked(manager: EntityManager, batch: DecisionBatch | null, conversation: ConversationRow, pool: CandidatePool, include: number[] = []): Promise<{ queue: QueueRow; choice: Choice }> {
    const passed = conversation.offer_passed_agent_ids ?? [];
    const first = this.choose(pool.queue, conversation.channel, pool, {}, passed);
    if (first) return { queue: pool.queue, choice: first };
    if (batch) await batch.flush(manager);
    const keep = (read: { pool: CandidatePool; now: Date }) => (batch ? batch.remember(read.pool, conversation.channel, read.now) : read.pool);
    const again = keep(await this.candidates.candidates(manager, pool.queue.id, conversation.channel, passed, { limit: batch?.limit ?? SINGLE_READ_LIMIT, include }));
    const second = this.choose(again.queue, conversation.channel, again, {}, passed);
    if (second) return { queue: again.queue, choice: second };
    const all = await this.candidates.queueWithMembers(manager, pool.queue.id);
    const whole = keep({ pool: wholePool(all.queue, all.members), now: all.now });
    return { queue: whole.queue, choice: this.choose(whole.queue, conversation.channel, whole, {}, passed)! };
  }

  /** Assigns to a named agent (manual assignment or transfer): allowed beyond capacity, recorded like any decision. */
  async assignTo(
    manager: EntityManager,
    conversation: ConversationRow,
    agentId: number,
    outcome: 'manual' | 'transfer',
    trigger: string,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<ConversationRow> {
    await advisoryXactLock(manager, LockKey.Allocation);
    const queue = await this.candidates.queue(manager, conversation.queue_id);
    const target = (await this.candidates.agents(manager, [agentId]))[0];
    if (!target) throw Errors.noSuchAgent();
    const verdicts = [judge(target, conversation.channel, new Date())];
    return this.apply(manager, conversation, queue, { agent: target, outcome, verdicts }, trigger, actor);
  }

  /** Whom automatic allocation would pick now for a conversation on `channel` in that queue; no side effect. */
  async preview(channel: string, queueId: number | undefined, options: JudgeOptions): Promise<number> {
    const queue = await this.queues.route(channel, queueId);
    const { queue: row, members } = await this.candidates.queueWithMembers(this.dataSource.manager, queue.id);
    const choice = this.choose(row, channel, wholePool(row, members), options)!;
    if (!choice.agent) throw Errors.noAgentAvailable();
    return choice.agent.agentId;
  }

  /**
   * The queue's strategy, then its overflow rule, over the verdicts of the members read. Pure.
   * `passed`: the members that declined or missed this conversation, tried only when nobody else
   * is eligible. Null when the members read cannot tell: eligible members may be unread that
   * come before the best read one (precedesUnread), or nobody read is eligible and the overflow
   * rule needs every member. A pool of every member always tells.
   */
  choose(queue: QueueRow, channel: string, pool: CandidatePool, options: JudgeOptions = {}, passed: readonly number[] = []): Choice | null {
    const now = new Date();
    const verdicts = pool.members.map((m) => judge(m, channel, now, options));
    const eligible = verdicts.filter((v) => v.eligible).map((v) => v.candidate);
    const best = preferFresh(orderByStrategy(queue.strategy, eligible, queue.last_assigned_agent_id), passed)[0] as Member | undefined;
    const cut = pool.cut;
    if (cut && !(best && !passed.includes(best.agentId) && precedesUnread(queue.strategy, best, cut.boundary, cut.pointer, queue.last_assigned_agent_id))) return null;
    if (best) return { agent: best, outcome: 'assigned', verdicts };
    if (!pool.complete && queue.overflow !== 'wait') return null;
    const overflow = chooseOverflow(queue.overflow, pool.members, channel) as Member | null;
    return overflow ? { agent: overflow, outcome: 'overflow', verdicts } : { agent: null, outcome: 'queued', verdicts };
  }

  /**
   * Writes the decision (assignment or not) with its outbox events, and publishes its domain
   * events after commit. Call holding the allocation lock. Automatic decisions act as `system`;
   * a manual assignment or a transfer as whoever asked.
   */
  async apply(manager: EntityManager, conversation: ConversationRow, queue: QueueRow, choice: Choice, trigger: string, actor: Actor = SYSTEM_ACTOR, batch?: DecisionBatch): Promise<ConversationRow> {
    const decision = decisionOf(conversation, queue, choice, trigger);
    if (!choice.agent) {
      // Joining the line happens here, under the lock: the line's order is then the order of
      // joining, so positions answered after commit are distinct and stable (RESTARTS_WAIT).
      const since = trigger === RESTARTS_WAIT ? 'clock_timestamp()' : 'coalesce(waiting_since, clock_timestamp())';
      const waiting = await this.repo.recordWaiting(manager, { ...decision, agentId: null }, since);
      return this.waited(manager, conversation, waiting, trigger, actor);
    }
    const agent = choice.agent;
    const offerSeconds = OFFERABLE.has(choice.outcome) ? queue.offer_timeout_seconds : 0;
    if (offerSeconds > 0) {
      const offered = await this.repo.recordOffer(manager, { ...decision, outcome: 'offered', agentId: agent.agentId }, queue.id, offerSeconds);
      // An offer holds a slot: reaching capacity with it makes the agent busy, as an assignment does.
      if (agent.active < agent.maxConcurrent && agent.active + 1 >= agent.maxConcurrent) await this.loadChanged(manager, batch, agent.agentId, 'offered');
      const offeredView = toConversationView(offered);
      await recordEvent(manager, {
        type: 'conversation.offered',
        conversationId: offered.id,
        channel: offered.channel,
        actor,
        data: { conversation: offeredView, agent: { id: agent.agentId, name: agent.name }, expiresAt: offeredView.offerExpiresAt },
      });
      // An offered conversation keeps its place in the line (waiting-line.ts): no position changes.
      afterCommit(manager, () => {
        const view = toConversationView(offered);
        this.events.publish('conversation.offered', { conversation: view, agent: { id: agent.agentId, name: agent.name }, expiresAt: view.offerExpiresAt! });
      });
      return offered;
    }
    const heldBefore = agent.active;
    const assigned = await this.repo.recordAssignment(manager, { ...decision, agentId: agent.agentId }, queue.id);
    return this.assigned(manager, conversation, assigned, agent, heldBefore, actor, batch);
  }

  /**
   * apply() inside a decision batch: an assignment or a wait joins the batch's one statement
   * (written when the batch flushes, before anything reads what it changes); an offer is
   * written at once. The batch's loads are updated here, so the next decision sees this one.
   */
  private async applyInBatch(manager: EntityManager, batch: DecisionBatch, conversation: ConversationRow, queue: QueueRow, choice: Choice, trigger: string): Promise<ConversationRow | Deferred<ConversationRow>> {
    const agent = choice.agent;
    if (agent && OFFERABLE.has(choice.outcome) && queue.offer_timeout_seconds > 0) {
      await batch.flush(manager);
      const row = await this.apply(manager, conversation, queue, choice, trigger, SYSTEM_ACTOR, batch);
      batch.decided(row, agent.agentId);
      return row;
    }
    const heldBefore = agent?.active ?? 0;
    const write = { ...decisionOf(conversation, queue, choice, trigger), agentId: agent?.agentId ?? null, queueId: queue.id, entry: trigger === RESTARTS_WAIT };
    const deferred = batch.defer(write, this.writeBatch, (row) =>
      agent ? this.assigned(manager, conversation, row, agent, heldBefore, SYSTEM_ACTOR, batch) : this.waited(manager, conversation, row, trigger, SYSTEM_ACTOR),
    );
    batch.decided({ ...conversation, status: agent ? 'active' : 'queued', agent_id: agent?.agentId ?? null }, agent?.agentId ?? null);
    return deferred;
  }

  /** The batch's assignments and waits in one statement, then the waiting ones' places in their lines. */
  private readonly writeBatch = async (manager: EntityManager, writes: BatchedDecision[]): Promise<Map<number, ConversationRow>> => {
    const rows = await this.repo.recordDecisions(manager, writes);
    const waiting = writes.filter((w) => w.agentId === null).map((w) => w.conversationId);
    const positions = await this.lines.positions(manager, waiting);
    for (const id of waiting) {
      const row = rows.get(id);
      if (row) rows.set(id, { ...row, position: positions.get(id) });
    }
    return rows;
  };

  /** After a conversation was left waiting: its customer and integrations hear its place, unless a drain only left it where it was. */
  private async waited(manager: EntityManager, conversation: ConversationRow, waiting: ConversationRow, trigger: string, actor: Actor): Promise<ConversationRow> {
    // A decision that leaves a conversation where it was waiting changes nothing its customer needs to hear.
    if (trigger !== RESTARTS_WAIT && conversation.waiting_since !== null) return waiting;
    await recordEvent(manager, {
      type: 'conversation.queued',
      conversationId: waiting.id,
      channel: waiting.channel,
      actor,
      data: { conversation: toConversationView(waiting, waiting.position) },
    });
    afterCommit(manager, () => {
      this.events.publish('conversation.queued', { conversation: toConversationView(waiting, waiting.position) });
      this.events.publish('queue.positions.changed', { queueIds: [waiting.queue_id] });
    });
    return waiting;
  }

  /** After an assignment: its event, the agent's state when this slot made it busy (`heldBefore`: its slots before), the publications. */
    private async assigned(manager: EntityManager, conversation: ConversationRow, assigned: ConversationRow, agent: Member, heldBefore: number, actor: Actor, batch?: DecisionBatch): Promise<ConversationRow> {
    const previousAgentId = conversation.agent_id;
    const leftLine = conversation.status === 'queued' || conversation.status === 'offered';
    await recordEvent(manager, {
      type: 'conversation.assigned',
      conversationId: assigned.id,
      channel: assigned.channel,
      actor,
      data: { conversation: toConversationView(assigned), agent: { id: agent.agentId, name: agent.name } },
    });
    if (heldBefore < agent.maxConcurrent && heldBefore + 1 >= agent.maxConcurrent) await this.loadChanged(manager, batch, agent.agentId, 'assigned');
    afterCommit(manager, () => {
      this.events.publish('conversation.assigned', { conversation: toConversationView(assigned), agent: { id: agent.agentId, name: agent.name }, previousAgentId });
      if (leftLine) this.events.publish('queue.positions.changed', { queueIds: [assigned.queue_id] });
    });
    return assigned;
  }

  /** Reaching capacity makes the agent busy: the state history records it in this transaction (in a batch once for all its agents, before the commit). */
  private async loadChanged(manager: EntityManager, batch: DecisionBatch | undefined, agentId: number, reason: string): Promise<void> {
    if (batch) batch.loadChanged([agentId], reason);
    else await this.hooks.run('agent.load.changed', manager, { agentIds: [agentId], reason });
  }
}

/** The decision row of a choice. */
function decisionOf(conversation: ConversationRow, queue: QueueRow, choice: Choice, trigger: string) {
  const candidates: CandidateVerdict[] = logged(choice).map((v) => ({
    agentId: v.candidate.agentId,
    eligible: v.eligible,
    reason: v.reason,
    active: v.candidate.active,
    maxConcurrent: v.candidate.maxConcurrent,
  }));
  return { conversationId: conversation.id, trigger, strategy: queue.strategy, candidates, outcome: choice.outcome };
}

/** The verdicts a decision records: all of them, or in a large queue the chosen agent's and the first others' (by id). */
function logged({ verdicts, agent }: Choice): Verdict[] {
  if (verdicts.length <= MAX_LOGGED_CANDIDATES) return verdicts;
  const chosen = verdicts.find((v) => v.candidate.agentId === agent?.agentId);
  const others = verdicts.filter((v) => v !== chosen).slice(0, chosen ? MAX_LOGGED_CANDIDATES - 1 : MAX_LOGGED_CANDIDATES);
  return chosen ? [chosen, ...others] : others;
}

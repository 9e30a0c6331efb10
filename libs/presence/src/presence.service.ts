// Over 250 lines on purpose: each presence command is a short transaction (lock, change, record,
// publish) and they share those steps; split by command they would repeat them.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Access, Actor, AgentState, AgentStatusView, DomainEvents, Errors, ForbiddenError, Principal, TransactionHooks } from '@cc/common';
import { advisoryXactLock, isUniqueViolation, LockKey, recordEvent, withTransaction } from '@cc/database';
import { LockedPresence, PresenceRepository } from './presence.repository';
import { WrapUpService } from './wrap-up.service';

/** An agent named by id or by its number. */
export type AgentRef = { id: number } | { number: string };

export interface LoginInput {
  extension?: string;
  context?: string;
  force?: boolean;
}

/** One agent's presence changed: what `agent.status.changed` carries. */
export interface StatusChange {
  agentId: number;
  status: AgentStatusView;
  reason: string;
}

interface Transition {
  agentId: number;
  from: AgentState;
  reason: string;
}

/**
 * Presence commands. Each runs in one transaction that locks the agent's presence row, changes
 * it, appends agent_state_history and reads the resulting status; `agent.status.changed` is
 * published after the commit.
 */
@Injectable()
export class PresenceService implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: PresenceRepository,
    private readonly wrapUps: WrapUpService,
    private readonly hooks: TransactionHooks,
    private readonly events: DomainEvents,
  ) {}

  onModuleInit(): void {
    this.hooks.register('agent.load.changed', (manager, { agentIds, reason }) => this.recordDerivedStates(manager, agentIds, reason));
  }

  /**
   * Inside the caller's transaction: records the agents' state if their load moved it (busy ↔
   * available). `locked`: the transaction already holds their presence rows (startWrapUp took it).
   */
  recordDerivedStates(manager: EntityManager, agentIds: number[], reason: string, locked = false): Promise<void> {
    return this.repo.recordDerivedStates(manager, agentIds, reason, locked);
  }

  /** The id of the agent `ref` names, if `caller` may act on it: an admin on any agent, an agent on itself only. */
  async resolve(ref: AgentRef, caller: Principal): Promise<number> {
    if (caller.role !== 'admin' && caller.role !== 'agent') throw new ForbiddenError();
    const id = 'id' in ref ? ref.id : await this.repo.findIdByNumber(this.dataSource.manager, ref.number);
    Access.requireAdminOrSelf(caller, id);
    if (id === null) throw Errors.noSuchAgent();
    return id;
  }

  async status(agentId: number): Promise<AgentStatusView> {
    const [status] = await this.repo.statusViews(this.dataSource.manager, [agentId]);
    if (!status) throw Errors.noSuchAgent();
    return status;
  }

  /** Statuses of the given agents (all agents when omitted), ordered by id, in one query. */
  statusViews(agentIds?: number[], manager: EntityManager = this.dataSource.manager): Promise<AgentStatusView[]> {
    return this.repo.statusViews(manager, agentIds);
  }

  /** Every new agent gets its presence row (logged off) in its creating transaction. */
  createPresence(manager: EntityManager, agentId: number): Promise<void> {
    return this.repo.create(manager, agentId);
  }

  /**
   * Logs the agent in on a device (extension@context; none for app-only agents). The device is
   * exactly what is given. Another agent on that device: 409, or with `force` it is logged off
   * first, in the same transaction.
   */
  async login(agentId: number, input: LoginInput): Promise<AgentStatusView> {
    const extension = input.extension ?? null;
    const context = input.context ?? null;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.loginOnce(agentId, extension, context, input.force === true);
      } catch (err) {
        // Someone took the device between our check and our update (the partial unique index says so).
        if (!isUniqueViolation(err, 'agent_presence_device_uq')) throw err;
        if (!input.force || attempt >= 3) {
          throw Errors.deviceInUse((await this.deviceHolder(this.dataSource.manager, extension ?? '', context, agentId)) ?? undefined);
        }
      }
    }
  }

  /** Logs the agent off; its active conversations go back to the waiting line (the `agent.released` hook). 409 when not logged in. */
  async logoff(agentId: number, reason = 'logoff'): Promise<AgentStatusView> {
    return this.change(agentId, async (manager) => {
      await this.lockAllocation(manager);
      const me = await this.repo.lock(manager, agentId);
      if (!me.logged) throw Errors.agentNotLoggedIn();
      await this.release(manager, [me]);
      return [{ agentId, from: me.state, reason }];
    });
  }

  /**
   * The grace logoff (API.md section 5), decided under the row lock with a fresh view: only if
   * the grace really ran out (disconnected_since is still old enough) and `stillAway()` (no
   * socket of the agent, asked after the lock) holds. Answers null when the agent stays.
   */
  async graceLogoff(agentId: number, graceSeconds: number, stillAway: () => boolean | Promise<boolean>): Promise<AgentStatusView | null> {
    const changes = await withTransaction(this.dataSource, async (manager) => {
      await this.lockAllocation(manager);
      const me = await this.repo.lock(manager, agentId);
      if (!me.logged || !(await this.repo.graceRanOut(manager, agentId, graceSeconds)) || !(await stillAway())) return [];
      await this.release(manager, [me]);
      return this.record(manager, [{ agentId, from: me.state, reason: 'grace' }]);
    });
    this.publish(changes);
    return changes.find((c) => c.agentId === agentId)?.status ?? null;
  }

  /** Pauses the agent, with an optional pause reason; reason 0 means available (unpause), as in the seed API. */
  async pause(agentId: number, reasonId?: number): Promise<AgentStatusView> {
    if (reasonId === 0) return this.unpause(agentId);
    return this.change(agentId, async (manager) => {
      if (reasonId !== undefined) {
        if (!(await this.repo.pauseReasonExists(manager, reasonId))) throw Errors.noSuchPauseReason();
      }
      // A pause revokes the agent's pending offers (the `agent.paused` hook): locked like a logoff.
      await this.lockAllocation(manager);
      const me = await this.lockLogged(manager, agentId);
      await this.repo.pause(manager, agentId, reasonId ?? null);
      await this.hooks.run('agent.paused', manager, { agentId });
      return [{ agentId, from: me.state, reason: 'pause' }];
    });
  }

  /**
   * For offer expiry, inside its transaction (which holds the allocation lock): pauses a logged-in,
   * unpaused agent with the reason named `reasonName` (created when missing). Answers the change to
   * publish after the commit, or null when nothing changed.
   */
  async pauseInTransaction(manager: EntityManager, agentId: number, reasonName: string, why: string): Promise<StatusChange | null> {
    const [me] = await this.repo.lockMany(manager, [agentId]);
    if (!me?.logged || me.paused) return null;
    await this.repo.pause(manager, agentId, await this.repo.pauseReasonId(manager, reasonName));
    await this.hooks.run('agent.paused', manager, { agentId });
    const [change] = await this.record(manager, [{ agentId, from: me.state, reason: why }]);
    return change;
  }

  publishChanges(changes: StatusChange[]): void {
    this.publish(changes);
  }

  async unpause(agentId: number): Promise<AgentStatusView> {
    return this.change(agentId, async (manager) => {
      const me = await this.lockLogged(manager, agentId);
      await this.repo.unpause(manager, agentId);
      return [{ agentId, from: me.state, reason: 'unpause' }];
    });
  }

  /** Wrap-up ends `seconds` from now (0: now); omitted: the agent's own wrapUpSeconds. 409 when not logged in. */
  async wrapUp(agentId: number, seconds?: number): Promise<AgentStatusView> {
    const status = await this.change(agentId, async (manager) => {
      const me = await this.lockLogged(manager, agentId);
      const secs = seconds ?? me.wrapUpSeconds;
      await this.repo.setWrapUp(manager, agentId, secs);
      return [{ agentId, from: me.state, reason: secs > 0 ? 'wrap-up' : 'wrap-up-ended' }];
    });
    if (status.wrapUpUntil) this.wrapUps.schedule(agentId, new Date(status.wrapUpUntil));
    else this.wrapUps.cancel(agentId);
    return status;
  }

  /**
   * For the conversations module, inside its resolve transaction: the agent enters wrap-up for
   * `seconds` (default its wrapUpSeconds), never shortening a longer one already running. No-op
   * when that is 0 or the agent is not logged in. Answers the agent's status; the caller publishes
   * `agent.status.changed` after its commit.
   */
  async startWrapUp(manager: EntityManager, agentId: number, seconds?: number, actor?: Actor): Promise<AgentStatusView> {
    const me = await this.repo.lock(manager, agentId);
    const secs = seconds ?? me.wrapUpSeconds;
    if (!me.logged || secs <= 0) return (await this.repo.statusViews(manager, [agentId]))[0];
    await this.repo.extendWrapUp(manager, agentId, secs);
    const [change] = await this.record(manager, [{ agentId, from: me.state, reason: 'wrap-up' }], actor);
    // If the caller rolls back, the timer finds nothing to end.
    if (change.status.wrapUpUntil) this.wrapUps.schedule(agentId, new Date(change.status.wrapUpUntil));
    return change.status;
  }

  /** For agent deletion, inside its transaction: releases the agent's conversations and records it going offline. */
  async releaseForDeletion(manager: EntityManager, agentId: number): Promise<StatusChange[]> {
    await this.lockAllocation(manager);
    const me = await this.repo.lock(manager, agentId);
    await this.hooks.run('agent.released', manager, { agentId, reason: 'deleted' });
    this.wrapUps.cancel(agentId);
    if (!me.logged) return [];
    // A deleted agent that was logged in went offline: supervisors and integrations hear it like a logoff.
    await this.repo.goOffline(manager, [agentId]);
    return this.record(manager, [{ agentId, from: me.state, reason: 'deleted' }]);
  }

  async logoffAll(): Promise<{ affected: number }> {
    const changes = await withTransaction(this.dataSource, async (manager) => {
      await this.lockAllocation(manager);
      const logged = await this.repo.lockLogged(manager);
      await this.release(manager, logged);
      return this.record(
        manager,
        logged.map((p) => ({ agentId: p.agentId, from: p.state, reason: 'logoff-all' })),
      );
    });
    this.publish(changes);
    return { affected: changes.length };
  }

  /**
   * Logs every logged-in agent off and on again on the same device, clearing pause and wrap-up.
   * The agents keep their conversations: a relog is a reset of presence, not a release of work.
   */
  async relogAll(): Promise<{ affected: number }> {
    const changes = await withTransaction(this.dataSource, async (manager) => {
      const logged = await this.repo.lockLogged(manager);
      const ids = logged.map((p) => p.agentId);
      await this.repo.relog(manager, ids);
      await this.repo.history(
        manager,
        logged.map((p) => ({ agentId: p.agentId, from: p.state, to: 'offline', reason: 'relog' })),
      );
      return this.record(
        manager,
        logged.map((p) => ({ agentId: p.agentId, from: 'offline', reason: 'relog' })),
      );
    });
    for (const change of changes) this.wrapUps.cancel(change.agentId);
    this.publish(changes);
    return { affected: changes.length };
  }

  private async loginOnce(agentId: number, extension: string | null, context: string | null, force: boolean): Promise<AgentStatusView> {
    return this.change(agentId, async (manager) => {
      const holderId = extension === null ? null : await this.deviceHolder(manager, extension, context, agentId);
      if (holderId !== null && !force) throw Errors.deviceInUse(holderId);
      if (holderId !== null) await this.lockAllocation(manager);
      const locked = await this.repo.lockMany(manager, holderId === null ? [agentId] : [agentId, holderId]);
      const me = locked.find((p) => p.agentId === agentId);
      if (!me) throw Errors.noSuchAgent();
      const transitions: Transition[] = [];
      // Re-checked under the lock: the holder may have moved meanwhile.
      const holder = locked.find((p) => p.agentId === holderId && p.logged && p.extension === extension && (p.context ?? '') === (context ?? ''));
      if (holder) {
        await this.release(manager, [holder]);
        transitions.push({ agentId: holder.agentId, from: holder.state, reason: 'forced-logoff' });
      }
      await this.repo.login(manager, agentId, extension, context);
      transitions.push({ agentId, from: me.state, reason: me.logged ? 'device-changed' : 'login' });
      return transitions;
    });
  }

  private deviceHolder(manager: EntityManager, extension: string, context: string | null, agentId: number): Promise<number | null> {
    return this.repo.deviceHolder(manager, extension, context, agentId);
  }

  private async lockLogged(manager: EntityManager, agentId: number): Promise<LockedPresence> {
    const me = await this.repo.lock(manager, agentId);
    if (!me.logged) throw Errors.agentNotLoggedIn();
    return me;
  }

  /**
   * Taken before any presence row by every command that releases an agent's conversations: an
   * allocation decided concurrently (it holds this lock, then touches the agent's presence row)
   * either commits first, and its conversation is released too, or sees the agent logged off.
   */
  private lockAllocation(manager: EntityManager): Promise<void> {
    return advisoryXactLock(manager, LockKey.Allocation);
  }

  /** Logs locked agents off: their conversations are released first, in this transaction. */
  private async release(manager: EntityManager, agents: LockedPresence[]): Promise<void> {
    if (!agents.length) return;
    for (const agent of agents) await this.hooks.run('agent.released', manager, { agentId: agent.agentId, reason: 'logoff' });
    await this.repo.goOffline(manager, agents.map((a) => a.agentId));
    for (const agent of agents) this.wrapUps.cancel(agent.agentId);
  }

  /** Reads the new statuses and appends one history row per transition. */
  private async record(manager: EntityManager, transitions: Transition[], actor?: Actor): Promise<StatusChange[]> {
    const statuses = await this.repo.statusViews(
      manager,
      transitions.map((t) => t.agentId),
    );
    const byId = new Map(statuses.map((s) => [s.id, s]));
    const changes = transitions.map((t) => ({ agentId: t.agentId, status: byId.get(t.agentId)!, reason: t.reason }));
    await this.repo.history(
      manager,
      transitions.map((t) => ({ agentId: t.agentId, from: t.from, to: byId.get(t.agentId)!.state, reason: t.reason })),
    );
    for (const change of changes) {
      await recordEvent(manager, { type: 'agent.status.changed', conversationId: null, channel: null, actor, data: change.status });
    }
    return changes;
  }

  /** Runs one command in a transaction, publishes its changes after the commit, answers `agentId`'s status. */
  private async change(agentId: number, work: (manager: EntityManager) => Promise<Transition[]>): Promise<AgentStatusView> {
    const changes = await withTransaction(this.dataSource, async (manager) => this.record(manager, await work(manager)));
    this.publish(changes);
    return changes.find((c) => c.agentId === agentId)!.status;
  }

  private publish(changes: StatusChange[]): void {
    for (const change of changes) this.events.publish('agent.status.changed', change);
  }
}

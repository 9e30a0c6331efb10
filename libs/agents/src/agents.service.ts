import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Access, AgentStatusView, ConversationStatus, DomainEvents, Errors, ForbiddenError, paginated, PasswordHasher, Principal } from '@cc/common';
import { isForeignKeyViolation, isUniqueViolation, recordEvent, withTransaction } from '@cc/database';
import { PresenceService, stateSql, statusViewOf } from '@cc/presence';
import { QueuesService } from '@cc/queues';
import { RoutingType } from './agent.entity';
import { AgentView, CreateAgentInput, ListAgentsInput, UpdateAgentInput } from './agent.view';
import { AgentRow, AgentsRepository } from './agents.repository';

const COLUMN_OF: Record<Exclude<keyof UpdateAgentInput, 'password' | 'queueIds'>, string> = {
  email: 'email',
  name: 'name',
  number: 'number',
  skills: 'skills',
  maxConcurrent: 'max_concurrent',
  channelCapacity: 'channel_capacity',
  wrapUpSeconds: 'wrap_up_seconds',
  manualStatus: 'manual_status',
  routingType: 'routing_type',
  phoneNumber: 'phone_number',
};

/** Agent administration. Every answer carries `stats` and `status`, read with the agents in one statement. */
@Injectable()
export class AgentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AgentsRepository,
    private readonly presence: PresenceService,
    private readonly queues: QueuesService,
    private readonly hasher: PasswordHasher,
    private readonly events: DomainEvents,
  ) {}

  async create(input: CreateAgentInput): Promise<AgentView> {
    const hash = await this.hasher.hash(input.password);
    const id = await this.transaction((manager) => this.insert(manager, input, hash, false));
    return this.get(id!);
  }

  /** The agent with that email, unchanged, or a new one. One insert that tolerates the conflict, so concurrent calls give one agent. */
  async getOrCreate(input: CreateAgentInput): Promise<{ agent: AgentView; created: boolean }> {
    const hash = await this.hasher.hash(input.password);
    const { id, created } = await this.transaction(async (manager) => {
      const inserted = await this.insert(manager, input, hash, true);
      if (inserted !== null) return { id: inserted, created: true };
      const id = await this.repo.idByEmail(manager, normalizeEmail(input.email));
      return { id: id!, created: false };
    });
    return { agent: await this.get(id), created };
  }

  /**
   * A page of agents as the JSON text of `Paginated<AgentView>`, to be sent as it is: the same
   * bytes as `JSON.stringify` of the page with each agent as `get` gives it, the views built by
   * PostgreSQL (AgentsRepository.pageJson).
   */
  async listJson(input: ListAgentsInput): Promise<string> {
    const { data, total } = await this.repo.pageJson(this.dataSource.manager, input);
    const { meta } = paginated([], input.page, input.limit, await total());
    return `{"data":[${data}],"meta":${JSON.stringify(meta)}}`;
  }

  /** One agent; an agent caller may read only itself. */
  async get(id: number, caller?: Principal): Promise<AgentView> {
    if (caller) Access.requireAdminOrSelf(caller, id);
    const row = await this.repo.find(this.dataSource.manager, id);
    if (!row) throw Errors.noSuchAgent();
    return toView(row);
  }

  async update(id: number, input: UpdateAgentInput): Promise<AgentView> {
    const hash = input.password === undefined ? undefined : await this.hasher.hash(input.password);
    const effects = await this.transaction(async (manager) => {
      const old = await this.repo.lock(manager, id);
      if (!old) throw Errors.noSuchAgent();
      const columns: Record<string, unknown> = {};
      for (const [key, column] of Object.entries(COLUMN_OF) as [keyof typeof COLUMN_OF, string][]) {
        const value = key === 'email' && input.email !== undefined ? normalizeEmail(input.email) : input[key];
        if (value !== undefined) columns[column] = key === 'skills' ? normalizeSkills(value as string[]) : key === 'channelCapacity' ? JSON.stringify(value) : value;
      }
      if (input.email !== undefined) await this.assertNotAdminEmail(manager, input.email);
      // A new password revokes every token issued with the old one.
      await this.repo.update(manager, id, columns, hash);
      const queuesChanged = input.queueIds === undefined ? false : await this.replaceQueues(manager, id, input.queueIds);
      const capacityChanged = input.maxConcurrent !== undefined && input.maxConcurrent !== old.max_concurrent;
      const channelsChanged = input.channelCapacity !== undefined && !sameCapacity(input.channelCapacity, old.channel_capacity);
      return {
        queuesChanged,
        capacityRaised: (capacityChanged && input.maxConcurrent! > old.max_concurrent) || channelsChanged,
        status: queuesChanged || capacityChanged || channelsChanged ? await this.recordStatus(manager, id) : null,
      };
    });
    if (hash !== undefined) this.events.publish('auth.logged-out', { role: 'agent', userId: id });
    if (effects.status) this.events.publish('agent.status.changed', { agentId: id, status: effects.status, reason: 'agent-updated' });
    if (effects.queuesChanged || effects.capacityRaised) {
      this.events.publish('agent.capacity.changed', { agentId: id, reason: effects.capacityRaised ? 'capacity-raised' : 'queues-changed' });
    }
    return this.get(id);
  }

  /** Deletes the agent; in the same transaction its active conversations go back to the waiting line. */
  async remove(id: number): Promise<void> {
    const changes = await withTransaction(this.dataSource, async (manager) => {
      // Locks (and answers 404) before touching the agents row, in the order allocation uses.
      const offline = await this.presence.releaseForDeletion(manager, id);
      await this.repo.delete(manager, id);
      return offline;
    });
    this.presence.publishChanges(changes);
    this.events.publish('agent.deleted', { agentId: id });
  }

  /** Replaces the agent's queues (an agent may set its own); an unknown queue changes nothing. */
  async setQueues(id: number, queueIds: number[], caller?: Principal): Promise<{ queueIds: number[] }> {
    if (caller) Access.requireAdminOrSelf(caller, id);
    const { changed, status } = await this.transaction(async (manager) => {
      if (!(await this.repo.lock(manager, id))) throw Errors.noSuchAgent();
      const changed = await this.replaceQueues(manager, id, queueIds);
      return { changed, status: changed ? await this.recordStatus(manager, id) : null };
    });
    if (status) this.events.publish('agent.status.changed', { agentId: id, status, reason: 'queues-changed' });
    if (changed) this.events.publish('agent.capacity.changed', { agentId: id, reason: 'queues-changed' });
    return { queueIds: (status ?? (await this.presence.status(id))).queueIds };
  }

  /** Inserts the agent with its queues and presence row; null when `ignoreExistingEmail` and the email is taken. */
  private async insert(manager: EntityManager, input: CreateAgentInput, hash: string, ignoreExistingEmail: boolean): Promise<number | null> {
    await this.assertNotAdminEmail(manager, input.email);
    const id = await this.repo.insert(
      manager,
      {
        email: normalizeEmail(input.email),
        name: input.name,
        passwordHash: hash,
        number: input.number ?? null,
        skills: normalizeSkills(input.skills ?? []),
        maxConcurrent: input.maxConcurrent ?? 2,
        wrapUpSeconds: input.wrapUpSeconds ?? 0,
        manualStatus: input.manualStatus ?? null,
        routingType: input.routingType ?? 'app',
        phoneNumber: input.phoneNumber ?? null,
        channelCapacity: input.channelCapacity ?? {},
      },
      ignoreExistingEmail,
    );
    if (id === null) return null;
    const queueIds = input.queueIds ?? (await this.queues.defaultQueueIds(manager));
    await this.replaceQueues(manager, id, queueIds);
    await this.presence.createPresence(manager, id);
    return id;
  }

  /** Makes the agent's membership exactly `queueIds` (queues own the membership); answers whether it changed. */
  private replaceQueues(manager: EntityManager, agentId: number, queueIds: number[]): Promise<boolean> {
    return this.queues.replaceMembership(manager, agentId, queueIds);
  }

  // Login looks up admins first, so an agent with an admin's email could never log in.
  private async assertNotAdminEmail(manager: EntityManager, email: string): Promise<void> {
    if (await this.repo.isAdminEmail(manager, normalizeEmail(email))) throw Errors.emailTaken();
  }

  /** The agent's status after its change (capacity or queues), with its agent.status.changed event in the change's transaction. */
  private async recordStatus(manager: EntityManager, agentId: number): Promise<AgentStatusView> {
    const [status] = await this.presence.statusViews([agentId], manager);
    await recordEvent(manager, { type: 'agent.status.changed', conversationId: null, channel: null, data: status });
    return status;
  }

  /** Maps unique and foreign-key violations (raised by the database, so also under races) to the contract's errors. */
  private async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await withTransaction(this.dataSource, work);
    } catch (err) {
      if (isUniqueViolation(err, 'agents_number_key')) throw Errors.numberTaken();
      if (isUniqueViolation(err, 'agents_email_key')) throw Errors.emailTaken();
      if (isForeignKeyViolation(err)) throw Errors.noSuchQueue();
      throw err;
    }
  }
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function sameCapacity(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

function normalizeSkills(skills: string[]): string[] {
  return [...new Set(skills.map((s) => s.trim().toLowerCase()))];
}

function toView(r: AgentRow): AgentView {
  const s = statusViewOf(r);
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    number: r.number,
    skills: r.skills,
    maxConcurrent: r.max_concurrent,
    channelCapacity: r.channel_capacity,
    wrapUpSeconds: r.wrap_up_seconds,
    manualStatus: r.manual_status,
    routingType: r.routing_type,
    phoneNumber: r.phone_number,
    queueIds: s.queueIds,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    stats: {
      activeConversations: r.active,
      totalConversations: r.total,
      totalResolved: r.resolved,
      latestConversation: r.latest_id === null ? null : { id: r.latest_id, status: r.latest_status!, createdAt: r.latest_created_at! },
    },
    status: {
      logged: s.logged,
      extension: s.extension,
      context: s.context,
      paused: s.paused,
      pauseReason: s.pauseReason,
      wrapUpUntil: s.wrapUpUntil,
      state: s.state,
      activeByChannel: s.activeByChannel,
    },
  };
}

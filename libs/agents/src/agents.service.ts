import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AgentStatusView, ConversationStatus, DomainEvents, Errors, ForbiddenError, paginated, Paginated, PasswordHasher, Principal } from '@cc/common';
import { isForeignKeyViolation, isUniqueViolation, recordEvent, toIso, withTransaction } from '@cc/database';
import { PresenceService, stateSql } from '@cc/presence';
import { RoutingType } from './agent.entity';
import { AgentView, CreateAgentInput, ListAgentsInput, UpdateAgentInput } from './agent.view';

interface AgentRow {
  id: number;
  email: string;
  name: string;
  number: string | null;
  skills: string[];
  max_concurrent: number;
  wrap_up_seconds: number;
  manual_status: string | null;
  routing_type: RoutingType;
  phone_number: string | null;
  created_at: Date;
  updated_at: Date;
  active: number;
  total: number;
  resolved: number;
  latest_id: number | null;
  latest_status: ConversationStatus | null;
  latest_created_at: Date | null;
}

// Conversation stats of agent `a`, for any number of agents in one query.
const STATS_JOIN = `
  LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE c.status = 'active')::int AS active, count(*)::int AS total,
           count(*) FILTER (WHERE c.status = 'resolved')::int AS resolved
    FROM conversations c WHERE c.agent_id = a.id) s ON true
  LEFT JOIN LATERAL (
    SELECT c.id, c.status, c.created_at FROM conversations c WHERE c.agent_id = a.id ORDER BY c.id DESC LIMIT 1) l ON true`;

const AGENT_COLUMNS = `a.id, a.email, a.name, a.number, a.skills, a.max_concurrent, a.wrap_up_seconds, a.manual_status,
  a.routing_type, a.phone_number, a.created_at, a.updated_at, s.active, s.total, s.resolved,
  l.id AS latest_id, l.status AS latest_status, l.created_at AS latest_created_at`;

const COLUMN_OF: Record<Exclude<keyof UpdateAgentInput, 'password' | 'queueIds'>, string> = {
  email: 'email',
  name: 'name',
  number: 'number',
  skills: 'skills',
  maxConcurrent: 'max_concurrent',
  wrapUpSeconds: 'wrap_up_seconds',
  manualStatus: 'manual_status',
  routingType: 'routing_type',
  phoneNumber: 'phone_number',
};

/** Agent administration. Every answer carries `stats` and `status`, read for a whole page in two queries. */
@Injectable()
export class AgentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly presence: PresenceService,
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
      const [row]: { id: number }[] = await manager.query(`SELECT id FROM agents WHERE email = $1`, [normalizeEmail(input.email)]);
      return { id: row.id, created: false };
    });
    return { agent: await this.get(id), created };
  }

  async list(input: ListAgentsInput): Promise<Paginated<AgentView>> {
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    let from = 'agents a';
    if (input.q) {
      const q = param(`%${input.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(a.name ILIKE ${q} OR a.email ILIKE ${q} OR a.number ILIKE ${q})`);
    }
    if (input.skill) where.push(`(cardinality(a.skills) = 0 OR ${param(input.skill.toLowerCase())} = ANY(a.skills))`);
    if (input.state) {
      from += ` LEFT JOIN agent_presence p ON p.agent_id = a.id
        LEFT JOIN LATERAL (SELECT count(*)::int AS n FROM conversations c WHERE c.agent_id = a.id AND c.status = 'active') act ON true`;
      where.push(`${stateSql('p', 'a', 'act.n')} = ${param(input.state)}`);
    }
    const filter = `FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    const filterParams = [...params];
    const rows: (AgentRow & { matched: number })[] = await this.dataSource.query(
      `WITH page AS (
         SELECT a.id, count(*) OVER ()::int AS matched ${filter}
         ORDER BY a.id LIMIT ${param(input.limit)} OFFSET ${param((input.page - 1) * input.limit)})
       SELECT page.matched, ${AGENT_COLUMNS} FROM page JOIN agents a ON a.id = page.id ${STATS_JOIN} ORDER BY a.id`,
      params,
    );
    // Past the last page there is no row to carry the window count: count separately.
    const total = rows.length
      ? rows[0].matched
      : input.page > 1
        ? (await this.dataSource.query(`SELECT count(*)::int AS n ${filter}`, filterParams))[0].n
        : 0;
    return paginated(await this.views(rows), input.page, input.limit, total);
  }

  /** One agent; an agent caller may read only itself. */
  async get(id: number, caller?: Principal): Promise<AgentView> {
    if (caller && caller.role !== 'admin' && !(caller.role === 'agent' && caller.id === id)) throw new ForbiddenError();
    const rows: AgentRow[] = await this.dataSource.query(`SELECT ${AGENT_COLUMNS} FROM agents a ${STATS_JOIN} WHERE a.id = $1`, [id]);
    if (!rows.length) throw Errors.noSuchAgent();
    return (await this.views(rows))[0];
  }

  async update(id: number, input: UpdateAgentInput): Promise<AgentView> {
    const hash = input.password === undefined ? undefined : await this.hasher.hash(input.password);
    const effects = await this.transaction(async (manager) => {
      const [old]: { max_concurrent: number }[] = await manager.query(`SELECT max_concurrent FROM agents WHERE id = $1 FOR UPDATE`, [id]);
      if (!old) throw Errors.noSuchAgent();
      const sets = ['updated_at = now()'];
      const params: unknown[] = [id];
      for (const [key, column] of Object.entries(COLUMN_OF) as [keyof typeof COLUMN_OF, string][]) {
        const value = key === 'email' && input.email !== undefined ? normalizeEmail(input.email) : input[key];
        if (value !== undefined) sets.push(`${column} = $${params.push(key === 'skills' ? normalizeSkills(value as string[]) : value)}`);
      }
      // A new password revokes every token issued with the old one.
      if (hash !== undefined) sets.push(`password_hash = $${params.push(hash)}`, 'token_version = token_version + 1');
      if (input.email !== undefined) await this.assertNotAdminEmail(manager, input.email);
      await manager.query(`UPDATE agents SET ${sets.join(', ')} WHERE id = $1`, params);
      const queuesChanged = input.queueIds === undefined ? false : await this.replaceQueues(manager, id, input.queueIds);
      const capacityChanged = input.maxConcurrent !== undefined && input.maxConcurrent !== old.max_concurrent;
      return { queuesChanged, capacityChanged, capacityRaised: capacityChanged && input.maxConcurrent! > old.max_concurrent };
    });
    if (hash !== undefined) this.events.publish('auth.logged-out', { role: 'agent', userId: id });
    if (effects.queuesChanged || effects.capacityChanged) await this.publishStatus(id, 'agent-updated');
    if (effects.queuesChanged || effects.capacityRaised) {
      this.events.publish('agent.capacity.changed', { agentId: id, reason: effects.capacityRaised ? 'capacity-raised' : 'queues-changed' });
    }
    return this.get(id);
  }

  /** Deletes the agent; in the same transaction its active conversations go back to the waiting line. */
  async remove(id: number): Promise<void> {
    await withTransaction(this.dataSource, async (manager) => {
      // Locks (and answers 404) before touching the agents row, in the order allocation uses.
      await this.presence.releaseForDeletion(manager, id);
      await manager.query(`DELETE FROM agents WHERE id = $1`, [id]);
    });
    this.events.publish('agent.deleted', { agentId: id });
  }

  /** Replaces the agent's queues (an agent may set its own); an unknown queue changes nothing. */
  async setQueues(id: number, queueIds: number[], caller?: Principal): Promise<{ queueIds: number[] }> {
    if (caller && caller.role !== 'admin' && !(caller.role === 'agent' && caller.id === id)) throw new ForbiddenError();
    const changed = await this.transaction(async (manager) => {
      const found: unknown[] = await manager.query(`SELECT 1 FROM agents WHERE id = $1 FOR UPDATE`, [id]);
      if (!found.length) throw Errors.noSuchAgent();
      return this.replaceQueues(manager, id, queueIds);
    });
    const status = changed ? await this.publishStatus(id, 'queues-changed') : await this.presence.status(id);
    if (changed) this.events.publish('agent.capacity.changed', { agentId: id, reason: 'queues-changed' });
    return { queueIds: status.queueIds };
  }

  /** Inserts the agent with its queues and presence row; null when `ignoreExistingEmail` and the email is taken. */
  private async insert(manager: EntityManager, input: CreateAgentInput, hash: string, ignoreExistingEmail: boolean): Promise<number | null> {
    await this.assertNotAdminEmail(manager, input.email);
    const rows: { id: number }[] = await manager.query(
      `INSERT INTO agents (email, name, password_hash, number, skills, max_concurrent, wrap_up_seconds, manual_status, routing_type, phone_number, token_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)
       ${ignoreExistingEmail ? 'ON CONFLICT (email) DO NOTHING' : ''} RETURNING id`,
      [
        normalizeEmail(input.email),
        input.name,
        hash,
        input.number ?? null,
        normalizeSkills(input.skills ?? []),
        input.maxConcurrent ?? 2,
        input.wrapUpSeconds ?? 0,
        input.manualStatus ?? null,
        input.routingType ?? 'app',
        input.phoneNumber ?? null,
      ],
    );
    if (!rows.length) return null;
    const id = rows[0].id;
    const queueIds = input.queueIds ?? (await manager.query(`SELECT id FROM queues WHERE name = 'default'`)).map((q: { id: number }) => q.id);
    await this.replaceQueues(manager, id, queueIds);
    await this.presence.createPresence(manager, id);
    return id;
  }

  /** Makes the agent's membership exactly `queueIds`; answers whether it changed. */
  private async replaceQueues(manager: EntityManager, agentId: number, queueIds: number[]): Promise<boolean> {
    const ids = [...new Set(queueIds)];
    if (ids.length) {
      const found: unknown[] = await manager.query(`SELECT id FROM queues WHERE id = ANY($1::int[]) FOR SHARE`, [ids]);
      if (found.length !== ids.length) throw Errors.noSuchQueue();
    }
    const [, removed]: [unknown, number] = await manager.query(
      `DELETE FROM queue_members WHERE agent_id = $1 AND NOT (queue_id = ANY($2::int[]))`,
      [agentId, ids],
    );
    const added: unknown[] = await manager.query(
      `INSERT INTO queue_members (queue_id, agent_id) SELECT unnest($2::int[]), $1 ON CONFLICT DO NOTHING RETURNING queue_id`,
      [agentId, ids],
    );
    return removed > 0 || added.length > 0;
  }

  // Login looks up admins first, so an agent with an admin's email could never log in.
  private async assertNotAdminEmail(manager: EntityManager, email: string): Promise<void> {
    const admins: unknown[] = await manager.query(`SELECT 1 FROM admins WHERE lower(email) = $1`, [normalizeEmail(email)]);
    if (admins.length) throw Errors.emailTaken();
  }

  private async publishStatus(agentId: number, reason: string): Promise<AgentStatusView> {
    const status = await this.presence.status(agentId);
    // After the agent's change committed (its capacity or queues): stored at once, as its own statement.
    await recordEvent(this.dataSource.manager, { type: 'agent.status.changed', conversationId: null, channel: null, data: status });
    this.events.publish('agent.status.changed', { agentId, status, reason });
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

  private async views(rows: AgentRow[]): Promise<AgentView[]> {
    const statuses = new Map((await this.presence.statusViews(rows.map((r) => r.id))).map((s) => [s.id, s]));
    return rows.map((r) => toView(r, statuses.get(r.id)!));
  }
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function normalizeSkills(skills: string[]): string[] {
  return [...new Set(skills.map((s) => s.trim().toLowerCase()))];
}

function toView(r: AgentRow, s: AgentStatusView): AgentView {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    number: r.number,
    skills: r.skills,
    maxConcurrent: r.max_concurrent,
    wrapUpSeconds: r.wrap_up_seconds,
    manualStatus: r.manual_status,
    routingType: r.routing_type,
    phoneNumber: r.phone_number,
    queueIds: s.queueIds,
    createdAt: toIso(r.created_at)!,
    updatedAt: toIso(r.updated_at)!,
    stats: {
      activeConversations: r.active,
      totalConversations: r.total,
      totalResolved: r.resolved,
      latestConversation: r.latest_id === null ? null : { id: r.latest_id, status: r.latest_status!, createdAt: toIso(r.latest_created_at)! },
    },
    status: {
      logged: s.logged,
      extension: s.extension,
      context: s.context,
      paused: s.paused,
      pauseReason: s.pauseReason,
      wrapUpUntil: s.wrapUpUntil,
      state: s.state,
    },
  };
}

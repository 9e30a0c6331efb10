import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ConversationStatus } from '@cc/common';
import { isoTextSql, jsonObjectTextSql, preparedRead } from '@cc/database';
import { heldCountSql, stateSql, StatusColumns, statusColumnsSql, statusJoinSql, statusJsonSql } from '@cc/presence';
import { RoutingType } from './agent.entity';
import { ListAgentsInput } from './agent.view';

/** An `agents` row with its conversation stats and its status columns, as the reads of this repository return it. */
export interface AgentRow extends StatusColumns {
  id: number;
  email: string;
  name: string;
  number: string | null;
  skills: string[];
  max_concurrent: number;
  channel_capacity: Record<string, number>;
  wrap_up_seconds: number;
  manual_status: string | null;
  routing_type: RoutingType;
  phone_number: string | null;
  /** ISO 8601 text (isoTextSql), as the view gives it. */
  created_at: string;
  updated_at: string;
  active: number;
  total: number;
  resolved: number;
  latest_id: number | null;
  latest_status: ConversationStatus | null;
  latest_created_at: string | null;
}

/** The columns of a new agent row. */
export interface NewAgentRow {
  email: string;
  name: string;
  passwordHash: string;
  number: string | null;
  skills: string[];
  maxConcurrent: number;
  wrapUpSeconds: number;
  manualStatus: string | null;
  routingType: RoutingType;
  phoneNumber: string | null;
  channelCapacity: Record<string, number>;
}

// Conversation stats of agent `a`: counters kept by triggers on conversations (migration AgentConversationCounts), its latest
// conversation, and its status (presence's join), in the same statement.
const STATS_JOIN = `
  LEFT JOIN agent_conversation_counts s ON s.agent_id = a.id
  LEFT JOIN LATERAL (
    SELECT c.id, c.status, c.created_at FROM conversations c WHERE c.agent_id = a.id ORDER BY c.id DESC LIMIT 1) l ON true
  ${statusJoinSql('a')}`;

const AGENT_COLUMNS = `a.id, a.email, a.name, a.number, a.skills, a.max_concurrent, a.channel_capacity, a.wrap_up_seconds, a.manual_status,
  a.routing_type, a.phone_number, ${isoTextSql('a.created_at')} AS created_at, ${isoTextSql('a.updated_at')} AS updated_at, coalesce(s.active, 0) AS active, coalesce(s.total, 0) AS total, coalesce(s.resolved, 0) AS resolved,
  l.id AS latest_id, l.status AS latest_status, ${isoTextSql('l.created_at')} AS latest_created_at, ${statusColumnsSql()}`;

// The agent view (the service's toView of a row read with AGENT_COLUMNS) built by PostgreSQL as JSON text, with the same
// keys in the same order and the same values as `JSON.stringify` of it (test/agents-json-text.e2e-spec.ts compares them).
const AGENT_JSON = `(SELECT row_to_json(v)::text FROM (SELECT a.id, a.email, a.name, a.number, a.skills, a.max_concurrent AS "maxConcurrent",
    ${jsonObjectTextSql('a.channel_capacity')}::json AS "channelCapacity", a.wrap_up_seconds AS "wrapUpSeconds", a.manual_status AS "manualStatus",
    a.routing_type AS "routingType", a.phone_number AS "phoneNumber", agent_status.queue_ids AS "queueIds",
    ${isoTextSql('a.created_at')} AS "createdAt", ${isoTextSql('a.updated_at')} AS "updatedAt",
    (SELECT row_to_json(st) FROM (SELECT coalesce(s.active, 0) AS "activeConversations", coalesce(s.total, 0) AS "totalConversations",
      coalesce(s.resolved, 0) AS "totalResolved",
      CASE WHEN l.id IS NOT NULL THEN (SELECT row_to_json(lc) FROM (SELECT l.id, l.status, ${isoTextSql('l.created_at')} AS "createdAt") lc) END AS "latestConversation") st) AS stats,
    ${statusJsonSql('a')} AS status) v)`;

/** Every SQL statement on `agents` (the table of this library). Always given the caller's manager. */
@Injectable()
export class AgentsRepository {
  /** Inserts the agent; null when `ignoreExistingEmail` and the email is taken. */
  async insert(manager: EntityManager, a: NewAgentRow, ignoreExistingEmail: boolean): Promise<number | null> {
    const rows: { id: number }[] = await manager.query(
      `INSERT INTO agents (email, name, password_hash, number, skills, max_concurrent, wrap_up_seconds, manual_status, routing_type, phone_number, channel_capacity, token_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)
       ${ignoreExistingEmail ? 'ON CONFLICT (email) DO NOTHING' : ''} RETURNING id`,
      [a.email, a.name, a.passwordHash, a.number, a.skills, a.maxConcurrent, a.wrapUpSeconds, a.manualStatus, a.routingType, a.phoneNumber, JSON.stringify(a.channelCapacity)],
    );
    return rows[0]?.id ?? null;
  }

  async idByEmail(manager: EntityManager, email: string): Promise<number | null> {
    const [row]: { id: number }[] = await manager.query(`SELECT id FROM agents WHERE email = $1`, [email]);
    return row?.id ?? null;
  }

  /**
   * A page of agents matching `input` as JSON text: the views of its agents (as the service's
   * toView gives them), in id order, joined by commas (the inside of the `data` array; empty for no
   * agent), built by PostgreSQL, and the number matched. Sent as it comes: no row parsed, no
   * `JSON.stringify`, about 1.5 ms of server CPU per page of 100 (BENCHMARKS.md, Levers).
   */
  async pageJson(manager: EntityManager, input: ListAgentsInput): Promise<{ data: string; total: () => Promise<number> }> {
    const { name, text, params, count } = this.pageQuery(manager, input);
    const [row] = await preparedRead<{ matched: number | null; data: string }>(
      manager,
      name,
      `WITH page AS (${text})
       SELECT max(page.matched) AS matched, coalesce(string_agg(${AGENT_JSON}, ',' ORDER BY a.id), '') AS data
       FROM page JOIN agents a ON a.id = page.id ${STATS_JOIN}`,
      params,
    );
    return { data: row.data, total: async () => row.matched ?? (await count()) };
  }

  /**
   * The ids of the page of agents matching `input`, each with the number matched (`text`, for a
   * WITH), its statement name, and the count of matches for when the page has no row to carry it.
   */
  private pageQuery(manager: EntityManager, input: ListAgentsInput): { name: string; text: string; params: unknown[]; count: () => Promise<number> } {
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
      // Offers hold slots: an agent whose offers and conversations fill its capacity is busy.
      from += ' LEFT JOIN agent_presence p ON p.agent_id = a.id';
      where.push(`${stateSql('p', 'a', heldCountSql('a.id'))} = ${param(input.state)}`);
    }
    const filter = `FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    const filterParams = [...params];
    // One prepared statement per combination of filters (the only thing that changes its text).
    const name = `cc_agents_page${input.q ? '_q' : ''}${input.skill ? '_skill' : ''}${input.state ? '_state' : ''}`;
    const text = `SELECT a.id, count(*) OVER ()::int AS matched ${filter}
      ORDER BY a.id LIMIT ${param(input.limit)} OFFSET ${param((input.page - 1) * input.limit)}`;
    // Past the last page there is no row to carry the window count: count separately.
    const count = async () => (input.page > 1 ? (await manager.query(`SELECT count(*)::int AS n ${filter}`, filterParams))[0].n : 0);
    return { name, text, params, count };
  }

  async find(manager: EntityManager, id: number): Promise<AgentRow | null> {
    const rows = await preparedRead<AgentRow>(manager, 'cc_agents_find', `SELECT ${AGENT_COLUMNS} FROM agents a ${STATS_JOIN} WHERE a.id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Locks the agent's row; null when unknown. */
  async lock(manager: EntityManager, id: number): Promise<{ max_concurrent: number; channel_capacity: Record<string, number> } | null> {
    const [old]: { max_concurrent: number; channel_capacity: Record<string, number> }[] = await manager.query(
      `SELECT max_concurrent, channel_capacity FROM agents WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return old ?? null;
  }

  /** Sets the given columns (already normalised, by column name); a new password hash also revokes every older token. */
  async update(manager: EntityManager, id: number, columns: Record<string, unknown>, passwordHash?: string): Promise<void> {
    const sets = ['updated_at = now()'];
    const params: unknown[] = [id];
    for (const [column, value] of Object.entries(columns)) sets.push(`${column} = $${params.push(value)}`);
    if (passwordHash !== undefined) sets.push(`password_hash = $${params.push(passwordHash)}`, 'token_version = token_version + 1');
    await manager.query(`UPDATE agents SET ${sets.join(', ')} WHERE id = $1`, params);
  }

  async delete(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`DELETE FROM agents WHERE id = $1`, [id]);
  }

  /** Logout: every token issued before is refused. */
  async bumpTokenVersion(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`UPDATE agents SET token_version = token_version + 1 WHERE id = $1`, [id]);
  }

  /** Read over `admins`: login looks up admins first, so an agent with an admin's email could never log in. */
  async isAdminEmail(manager: EntityManager, email: string): Promise<boolean> {
    const admins: unknown[] = await manager.query(`SELECT 1 FROM admins WHERE lower(email) = $1`, [email]);
    return admins.length > 0;
  }
}

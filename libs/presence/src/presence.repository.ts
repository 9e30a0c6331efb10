// Over 250 lines on purpose: every statement on agent_presence, agent_state_history and the status
// read model is here, so the table has one place to review (split by table it would scatter the status SQL).
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AgentState, AgentStatusView, Errors } from '@cc/common';
import { isoTextSql, jsonObjectTextSql, preparedRead } from '@cc/database';
import { activeCountSql, deriveState, heldCountSql, inWrapUp, stateSql } from './presence-state';

/** An agent's presence row, locked FOR UPDATE for the rest of the transaction. */
export interface LockedPresence {
  agentId: number;
  logged: boolean;
  extension: string | null;
  context: string | null;
  paused: boolean;
  wrapUpUntil: Date | null;
  wrapUpSeconds: number;
  /** The state before the change being made. */
  state: AgentState;
}

export interface HistoryRow {
  agentId: number;
  from: AgentState;
  to: AgentState;
  reason: string;
}

interface LockedRow {
  agent_id: number;
  logged: boolean;
  extension: string | null;
  context: string | null;
  paused: boolean;
  wrap_up_until: Date | null;
  wrap_up_seconds: number;
  max_concurrent: number;
  active: number;
  offered: number;
  now: Date;
}

/** The columns of an agent's status, as `statusColumnsSql` names them (`status_` + field). */
export interface StatusColumns {
  status_logged: boolean | null;
  status_extension: string | null;
  status_context: string | null;
  status_paused: boolean | null;
  status_pause_reason_id: number | null;
  status_pause_reason_name: string | null;
  status_wrap_up_until: Date | null;
  status_active: number;
  status_offered: number;
  status_active_by_channel: Record<string, number>;
  status_queue_ids: number[];
  status_now: Date;
}

/** An `agents` row's id, number and capacity with its status columns. */
export type StatusRow = { id: number; number: string | null; max_concurrent: number } & StatusColumns;

const GO_OFFLINE = `UPDATE agent_presence SET logged = false, extension = NULL, context = NULL, paused = false,
  pause_reason_id = NULL, wrap_up_until = NULL, logged_at = NULL, socket_seen = false, disconnected_since = NULL,
  updated_at = now() WHERE agent_id = ANY($1::int[])`;

const ACTIVE = activeCountSql;
const OFFERED = (agent: string) => `(SELECT count(*)::int FROM conversations c WHERE c.agent_id = ${agent} AND c.status = 'offered')`;
const ACTIVE_BY_CHANNEL = (agent: string) => `(SELECT coalesce(jsonb_object_agg(x.channel, x.n), '{}'::jsonb) FROM (
  SELECT c.channel, count(*)::int AS n FROM conversations c WHERE c.agent_id = ${agent} AND c.status = 'active' GROUP BY c.channel) x)`;

/** SQL of presence: locking rows, reading statuses, appending history. Always given the caller's manager. */
@Injectable()
export class PresenceRepository {
  async create(manager: EntityManager, agentId: number): Promise<void> {
    await manager.query(`INSERT INTO agent_presence (agent_id) VALUES ($1) ON CONFLICT (agent_id) DO NOTHING`, [agentId]);
  }

  async findIdByNumber(manager: EntityManager, number: string): Promise<number | null> {
    const rows: { id: number }[] = await manager.query(`SELECT id FROM agents WHERE number = $1`, [number]);
    return rows[0]?.id ?? null;
  }

  /** Locks one agent's presence row (creating it if missing); 404 for an unknown agent. */
  async lock(manager: EntityManager, agentId: number): Promise<LockedPresence> {
    const [row] = await this.lockMany(manager, [agentId]);
    if (!row) throw Errors.noSuchAgent();
    return row;
  }

  /**
   * Under the row lock: the agent is still logged in, had a socket, and has had none for at
   * least `graceSeconds` (a socket that came back cleared disconnected_since first).
   */
  async graceRanOut(manager: EntityManager, agentId: number, graceSeconds: number): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `SELECT 1 FROM agent_presence
       WHERE agent_id = $1 AND logged AND socket_seen AND disconnected_since <= now() - $2::int * interval '1 second'`,
      [agentId, graceSeconds],
    );
    return rows.length > 0;
  }

  /** Locks the rows of existing agents among `agentIds`, in id order so concurrent callers cannot deadlock. */
  async lockMany(manager: EntityManager, agentIds: number[]): Promise<LockedPresence[]> {
    const ids = [...new Set(agentIds)];
    const locked = await this.selectLocked(manager, `p.agent_id = ANY($1::int[])`, [ids]);
    if (locked.length === ids.length) return locked;
    // Agents created without a presence row (e.g. by SQL) get one on first use.
    await manager.query(
      `INSERT INTO agent_presence (agent_id) SELECT id FROM agents WHERE id = ANY($1::int[]) ON CONFLICT (agent_id) DO NOTHING`,
      [ids],
    );
    return this.selectLocked(manager, `p.agent_id = ANY($1::int[])`, [ids]);
  }

  async lockLogged(manager: EntityManager): Promise<LockedPresence[]> {
    return this.selectLocked(manager, `p.logged`, []);
  }

  /** Statuses of the given agents (every agent when `agentIds` is omitted), ordered by id. */
  async statusViews(manager: EntityManager, agentIds?: number[]): Promise<AgentStatusView[]> {
    if (agentIds && !agentIds.length) return [];
    // Planned once per pooled connection: planning (subqueries over conversations and its many indexes) cost as much as running it.
    const rows = await preparedRead<StatusRow>(
      manager,
      agentIds ? 'cc_presence_status_views_of' : 'cc_presence_status_views',
      `SELECT a.id, a.number, a.max_concurrent, ${statusColumnsSql()} FROM agents a ${statusJoinSql('a')}
       ${agentIds ? 'WHERE a.id = ANY($1::int[])' : ''}
       ORDER BY a.id`,
      agentIds ? [agentIds] : [],
    );
    return rows.map(statusViewOf);
  }

  /** The id of the pause reason named `name`, created when missing (safe under concurrent calls). */
  async pauseReasonId(manager: EntityManager, name: string): Promise<number> {
    await manager.query(`INSERT INTO pause_reasons (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name]);
    const [row]: { id: number }[] = await manager.query(`SELECT id FROM pause_reasons WHERE name = $1`, [name]);
    return row.id;
  }

  async history(manager: EntityManager, rows: HistoryRow[]): Promise<void> {
    if (!rows.length) return;
    await manager.query(
      `INSERT INTO agent_state_history (agent_id, from_state, to_state, reason)
       SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::varchar[])`,
      [rows.map((r) => r.agentId), rows.map((r) => r.from), rows.map((r) => r.to), rows.map((r) => r.reason)],
    );
  }

  /** The agent holding the device extension@context, other than `agentId`. */
  async deviceHolder(manager: EntityManager, extension: string, context: string | null, agentId: number): Promise<number | null> {
    const rows: { agent_id: number }[] = await manager.query(
      `SELECT agent_id FROM agent_presence WHERE logged AND extension = $1 AND coalesce(context, '') = coalesce($2, '') AND agent_id <> $3`,
      [extension, context, agentId],
    );
    return rows[0]?.agent_id ?? null;
  }

  /** Logged in on that device; a new login starts the socket grace afresh, a device change keeps it. */
  async login(manager: EntityManager, agentId: number, extension: string | null, context: string | null): Promise<void> {
    await manager.query(
      `UPDATE agent_presence SET logged = true, extension = $2, context = $3,
         logged_at = CASE WHEN logged THEN logged_at ELSE now() END,
         socket_seen = logged AND socket_seen,
         disconnected_since = CASE WHEN logged THEN disconnected_since END,
         updated_at = now()
       WHERE agent_id = $1`,
      [agentId, extension, context],
    );
  }

  async goOffline(manager: EntityManager, agentIds: number[]): Promise<void> {
    await manager.query(GO_OFFLINE, [agentIds]);
  }

  async pause(manager: EntityManager, agentId: number, reasonId: number | null): Promise<void> {
    await manager.query(`UPDATE agent_presence SET paused = true, pause_reason_id = $2, updated_at = now() WHERE agent_id = $1`, [agentId, reasonId]);
  }

  async unpause(manager: EntityManager, agentId: number): Promise<void> {
    await manager.query(`UPDATE agent_presence SET paused = false, pause_reason_id = NULL, updated_at = now() WHERE agent_id = $1`, [agentId]);
  }

  /** Wrap-up ends `seconds` from now; 0 ends it now. */
  async setWrapUp(manager: EntityManager, agentId: number, seconds: number): Promise<void> {
    await manager.query(
      `UPDATE agent_presence SET wrap_up_until = CASE WHEN $2::int > 0 THEN now() + $2::int * interval '1 second' END,
       updated_at = now() WHERE agent_id = $1`,
      [agentId, seconds],
    );
  }

  /** Wrap-up for `seconds` from now, never shortening a longer one already running. */
  async extendWrapUp(manager: EntityManager, agentId: number, seconds: number): Promise<void> {
    await manager.query(
      `UPDATE agent_presence SET wrap_up_until = GREATEST(wrap_up_until, now() + $2::int * interval '1 second'), updated_at = now()
       WHERE agent_id = $1`,
      [agentId, seconds],
    );
  }

  /** Clears every expired wrap-up (or only that agent's); answers the agents whose wrap-up ended. */
  async endExpiredWrapUps(manager: EntityManager, agentId?: number): Promise<number[]> {
    const [rows]: [{ agent_id: number }[], number] = await manager.query(
      `UPDATE agent_presence SET wrap_up_until = NULL, updated_at = now()
       WHERE wrap_up_until <= now() ${agentId === undefined ? '' : 'AND agent_id = $1'}
       RETURNING agent_id`,
      agentId === undefined ? [] : [agentId],
    );
    return rows.map((r) => r.agent_id);
  }

  /** A relog: logged in anew on the same device, pause and wrap-up cleared. */
  async relog(manager: EntityManager, agentIds: number[]): Promise<void> {
    await manager.query(
      `UPDATE agent_presence SET paused = false, pause_reason_id = NULL, wrap_up_until = NULL, logged_at = now(), updated_at = now()
       WHERE agent_id = ANY($1::int[])`,
      [agentIds],
    );
  }

  async pauseReasonExists(manager: EntityManager, id: number): Promise<boolean> {
    const found: unknown[] = await manager.query(`SELECT 1 FROM pause_reasons WHERE id = $1`, [id]);
    return found.length > 0;
  }

  /** A socket of the logged-in agent is connected: the grace applies from now on, and a running grace ends. */
  async socketConnected(manager: EntityManager, agentId: number): Promise<void> {
    await manager.query(
      `UPDATE agent_presence SET socket_seen = true, disconnected_since = NULL
       WHERE agent_id = $1 AND logged AND (NOT socket_seen OR disconnected_since IS NOT NULL)`,
      [agentId],
    );
  }

  /** The last sockets of these agents are gone: their grace starts now (unless running already). */
  async socketsGone(manager: EntityManager, agentIds: number[]): Promise<void> {
    await manager.query(
      `UPDATE agent_presence SET disconnected_since = now()
       WHERE agent_id = ANY($1::int[]) AND logged AND socket_seen AND disconnected_since IS NULL`,
      [agentIds],
    );
  }

  /** Logged-in agents whose grace of `seconds` has run out. */
  async graceExpired(manager: EntityManager, seconds: number): Promise<number[]> {
    const rows: { agent_id: number }[] = await manager.query(
      `SELECT agent_id FROM agent_presence
       WHERE logged AND socket_seen AND disconnected_since <= now() - $1::int * interval '1 second'`,
      [seconds],
    );
    return rows.map((r) => r.agent_id);
  }

  /** Logged-in agents believed connected (a socket seen, no grace running). */
  async believedConnected(manager: EntityManager): Promise<number[]> {
    const rows: { agent_id: number }[] = await manager.query(`SELECT agent_id FROM agent_presence WHERE logged AND socket_seen AND disconnected_since IS NULL`);
    return rows.map((r) => r.agent_id);
  }

  /**
   * Appends a history row for each of these agents whose derived state (load included) differs
   * from the last one recorded, so agent_state_history is the whole timeline of states, busy and
   * available too. The presence rows are locked first: concurrent callers record a change once.
   * `locked`: the caller's transaction already holds them (`lock`, `lockMany`), so this is one
   * statement, whose snapshot is taken under the lock all the same.
   */
  async recordDerivedStates(manager: EntityManager, agentIds: number[], reason: string, locked = false): Promise<void> {
    const ids = [...new Set(agentIds)].sort((a, b) => a - b);
    if (!ids.length) return;
    if (!locked) await manager.query(`SELECT 1 FROM agent_presence WHERE agent_id = ANY($1::int[]) ORDER BY agent_id FOR UPDATE`, [ids]);
    await manager.query(
      `INSERT INTO agent_state_history (agent_id, from_state, to_state, reason)
       SELECT s.id, s.last_state, s.state, $2 FROM (
         SELECT a.id, ${stateSql('p', 'a', heldCountSql('a.id'))} AS state,
                coalesce((SELECT h.to_state FROM agent_state_history h WHERE h.agent_id = a.id ORDER BY h.at DESC, h.id DESC LIMIT 1), 'offline') AS last_state
         FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id WHERE a.id = ANY($1::int[])
       ) s WHERE s.state <> s.last_state`,
      [ids, reason],
    );
  }

  private async selectLocked(manager: EntityManager, where: string, params: unknown[]): Promise<LockedPresence[]> {
    const rows: LockedRow[] = await manager.query(
      `SELECT p.agent_id, p.logged, p.extension, p.context, p.paused, p.wrap_up_until,
              a.wrap_up_seconds, a.max_concurrent, ${ACTIVE('p.agent_id')} AS active, ${OFFERED('p.agent_id')} AS offered, now() AS now
       FROM agent_presence p JOIN agents a ON a.id = p.agent_id
       WHERE ${where} ORDER BY p.agent_id FOR UPDATE OF p`,
      params,
    );
    return rows.map((r) => ({
      agentId: r.agent_id,
      logged: r.logged,
      extension: r.extension,
      context: r.context,
      paused: r.paused,
      wrapUpUntil: r.wrap_up_until,
      wrapUpSeconds: r.wrap_up_seconds,
      state: deriveState(
        { logged: r.logged, paused: r.paused, wrapUpUntil: r.wrap_up_until, activeConversations: r.active, offeredConversations: r.offered, maxConcurrent: r.max_concurrent },
        r.now,
      ),
    }));
  }
}

const STATUS_FIELDS = [
  'logged',
  'extension',
  'context',
  'paused',
  'pause_reason_id',
  'pause_reason_name',
  'wrap_up_until',
  'active',
  'offered',
  'active_by_channel',
  'queue_ids',
  'now',
] as const;

/**
 * The join that gives agent `a` (an `agents` alias) its status, for statusViews and for reads of
 * agents composed elsewhere (GET /agents: the page and its statuses in one statement, one snapshot).
 */
export function statusJoinSql(a: string): string {
  return `LEFT JOIN LATERAL (
    SELECT p.logged, p.extension, p.context, p.paused, pr.id AS pause_reason_id, pr.name AS pause_reason_name, p.wrap_up_until,
           ${ACTIVE(`${a}.id`)} AS active, ${OFFERED(`${a}.id`)} AS offered, ${ACTIVE_BY_CHANNEL(`${a}.id`)} AS active_by_channel,
           ARRAY(SELECT m.queue_id FROM queue_members m WHERE m.agent_id = ${a}.id ORDER BY m.queue_id) AS queue_ids,
           now() AS now
    FROM (SELECT) one
    LEFT JOIN agent_presence p ON p.agent_id = ${a}.id
    LEFT JOIN pause_reasons pr ON pr.id = p.pause_reason_id AND p.paused) agent_status ON true`;
}

/** ...and its columns (StatusColumns), to select beside the agent's id, number and max_concurrent. */
export function statusColumnsSql(): string {
  return STATUS_FIELDS.map((f) => `agent_status.${f} AS status_${f}`).join(', ');
}

/** The status of an agent read with statusJoinSql and statusColumnsSql. */
export function statusViewOf(r: StatusRow): AgentStatusView {
  const logged = r.status_logged === true;
  const paused = logged && r.status_paused === true;
  const now = r.status_now;
  const wrapUpUntil = logged && inWrapUp(r.status_wrap_up_until, now) ? r.status_wrap_up_until : null;
  return {
    id: r.id,
    number: r.number,
    logged,
    extension: logged ? r.status_extension : null,
    context: logged ? r.status_context : null,
    paused,
    pauseReason: paused && r.status_pause_reason_id !== null ? { id: r.status_pause_reason_id, name: r.status_pause_reason_name! } : null,
    wrapUpUntil: wrapUpUntil ? wrapUpUntil.toISOString() : null,
    state: deriveState({ logged, paused, wrapUpUntil, activeConversations: r.status_active, offeredConversations: r.status_offered, maxConcurrent: r.max_concurrent }, now),
    activeConversations: r.status_active,
    activeByChannel: r.status_active_by_channel,
    offeredConversations: r.status_offered,
    maxConcurrent: r.max_concurrent,
    queueIds: r.status_queue_ids,
  };
}

/**
 * statusViewOf's answer for the `status` of an agent view, built by PostgreSQL as JSON text (for
 * reads sent as they come from the database, GET /agents): the fields `logged`, `extension`,
 * `context`, `paused`, `pauseReason`, `wrapUpUntil`, `state`, `activeByChannel` with the same
 * values and text as `JSON.stringify` of statusViewOf's (test/agents-json-text.e2e-spec.ts). A
 * wrap-up is compared at milliseconds, as statusViewOf compares the `Date`s pg parsed. `a` is the
 * agents alias of statusJoinSql.
 */
export function statusJsonSql(a: string): string {
  const logged = 'agent_status.logged IS TRUE';
  const paused = `(${logged} AND agent_status.paused IS TRUE)`;
  const ms = (expr: string) => `date_trunc('milliseconds', ${expr} AT TIME ZONE 'UTC')`;
  const wrapUp = `(${logged} AND agent_status.wrap_up_until IS NOT NULL AND ${ms('agent_status.wrap_up_until')} > ${ms('agent_status.now')})`;
  return `(SELECT row_to_json(x) FROM (SELECT
    ${logged} AS logged,
    CASE WHEN ${logged} THEN agent_status.extension END AS extension,
    CASE WHEN ${logged} THEN agent_status.context END AS context,
    ${paused} AS paused,
    CASE WHEN ${paused} AND agent_status.pause_reason_id IS NOT NULL
      THEN (SELECT row_to_json(r) FROM (SELECT agent_status.pause_reason_id AS id, agent_status.pause_reason_name AS name) r) END AS "pauseReason",
    CASE WHEN ${wrapUp} THEN ${isoTextSql('agent_status.wrap_up_until')} END AS "wrapUpUntil",
    CASE WHEN NOT ${logged} THEN 'offline' WHEN ${paused} THEN 'paused' WHEN ${wrapUp} THEN 'wrap-up'
      WHEN agent_status.active + agent_status.offered >= ${a}.max_concurrent THEN 'busy' ELSE 'available' END AS state,
    ${jsonObjectTextSql('agent_status.active_by_channel')}::json AS "activeByChannel") x)`;
}

/** For a statement composed by allocation (one round trip under its lock): the agent `agent` was just given a conversation. */
export function markAssignedSql(agent: string): string {
  return `UPDATE agent_presence SET last_assigned_at = now() WHERE agent_id = ${agent}`;
}

/** markAssignedSql for the agents `agents` (an SQL subquery of agent ids) took, in one statement. */
export function markManyAssignedSql(agents: string): string {
  return `UPDATE agent_presence SET last_assigned_at = now() WHERE agent_id IN (${agents})`;
}

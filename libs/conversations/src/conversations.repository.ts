// Over 250 lines on purpose: every statement on conversations (and the write fragments other
// libraries compose) is here, so the table has one place to review.
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, ConversationStatus, ConversationView } from '@cc/common';
import { conversationJsonSql, customerJsonSql, isoTextSql, messageJsonSql, outboxInsertSql, readInPages, returnedRows, toIso } from '@cc/database';
import { heldCountSql } from '@cc/presence';
import { routeQueueSql } from '@cc/queues';
import { aheadInLineSql, keptWaitSql, waitingLineSql } from './waiting-line';

/** A `conversations` row as raw SQL returns it; the one row type of the table. */
export interface ConversationRow {
  id: number;
  customer_id: number;
  agent_id: number | null;
  queue_id: number;
  channel: string;
  status: ConversationStatus;
  created_at: Date;
  waiting_since: Date | null;
  assigned_at: Date | null;
  resolved_at: Date | null;
  first_assigned_at?: Date | null;
  first_response_at?: Date | null;
  resolved_by: string | null;
  notes: string | null;
  /** While `offered`: the deadline of the offer (API.md section 11). */
  offer_expires_at?: Date | null;
  /** Agents that declined or missed an offer of it: offered it again only when nobody else is eligible. */
  offer_passed_agent_ids?: number[];
  /** Its place in the waiting line, when the statement that read the row computed it. */
  position?: number;
}

/** The row the start statement answers: the conversation, its queue's webhook and its first message. */
export type StartedRow = ConversationRow & { webhook_url: string | null; message_id: string | null; message_created_at: Date | null };

export interface ConversationFilter {
  customerId?: number;
  agentId?: number;
  status?: ConversationStatus;
  /** Filter as a customer sees conversations (conversationSeenBy): an offered one is queued, with no agent. */
  offersHidden?: boolean;
}

/** The row's timestamps as the wire's ISO text. */
type ViewTimes = { createdAt: string; assignedAt: string | null; resolvedAt: string | null; offerExpiresAt: string | null };
type ViewColumns = Pick<ConversationRow, 'id' | 'customer_id' | 'agent_id' | 'queue_id' | 'channel' | 'status' | 'resolved_by' | 'notes'>;

/** The one mapping of a row to the wire shape, its timestamps given as text (toConversationView, waitingLineView). */
function conversationView(row: ViewColumns, times: ViewTimes, position?: number | null, estimatedWaitSeconds?: number | null): ConversationView {
  const view: ConversationView = {
    id: row.id,
    customerId: row.customer_id,
    agentId: row.agent_id,
    queueId: row.queue_id,
    channel: row.channel,
    status: row.status,
    createdAt: times.createdAt,
    assignedAt: times.assignedAt,
    resolvedAt: times.resolvedAt,
    resolvedBy: row.resolved_by,
    notes: row.notes,
  };
  if (row.status === 'queued' && position) {
    view.position = position;
    if (estimatedWaitSeconds !== undefined) view.estimatedWaitSeconds = estimatedWaitSeconds;
  }
  if (row.status === 'offered' && times.offerExpiresAt) view.offerExpiresAt = times.offerExpiresAt;
  return view;
}

/** The row as the wire's conversation; `estimatedWaitSeconds` beside the position when the caller computed it (@cc/statistics). */
export function toConversationView(row: ConversationRow, position?: number | null, estimatedWaitSeconds?: number | null): ConversationView {
  const times = { createdAt: toIso(row.created_at)!, assignedAt: toIso(row.assigned_at), resolvedAt: toIso(row.resolved_at), offerExpiresAt: toIso(row.offer_expires_at) };
  return conversationView(row, times, position, estimatedWaitSeconds);
}

/** A row of the waiting line as the wire's conversation (its timestamps are already the view's text). */
export function waitingLineView(row: WaitingLineRow, estimatedWaitSeconds?: number | null): ConversationView {
  const times = { createdAt: row.created_at, assignedAt: row.assigned_at, resolvedAt: row.resolved_at, offerExpiresAt: row.offer_expires_at };
  return conversationView(row, times, row.position, estimatedWaitSeconds);
}

/*
 * Statements that write `conversations` but run inside a statement composed by another library
 * (allocation writes its decision and the assignment in one round trip under its lock). They are
 * defined here, by the table's owner; the composer only places them in its WITH clause.
 */

/** `UPDATE` handing conversation `conv` to agent `agent`; returns the row. */
export function assignConversationSql(conv: string, agent: string): string {
  // The first assignment is kept for the statistics (API.md 13): later ones never move it.
  return `UPDATE conversations SET status = 'active', agent_id = ${agent}, assigned_at = now(), first_assigned_at = coalesce(first_assigned_at, now()),
          offer_expires_at = NULL WHERE id = ${conv} RETURNING *`;
}

/**
 * assignConversationSql for many: `input` names a relation with columns conversation_id and
 * agent_id (a decision batch); returns the assigned rows.
 */
export function assignConversationsSql(input: string): string {
  return `UPDATE conversations c SET status = 'active', agent_id = i.agent_id, assigned_at = now(), first_assigned_at = coalesce(c.first_assigned_at, now()),
          offer_expires_at = NULL FROM ${input} i WHERE c.id = i.conversation_id RETURNING c.*`;
}

/**
 * joinWaitingLineSql for many: `input` names a relation with columns conversation_id, ord and
 * entry (true: the wait starts now; false: one already waiting keeps it). Each joins at its own
 * clock_timestamp() taken in `ord` order, so the line keeps the order of the decisions.
 */
export function joinWaitingLinesSql(input: string): string {
  return `UPDATE conversations c SET waiting_since = CASE WHEN j.entry THEN j.at ELSE coalesce(c.waiting_since, j.at) END
          FROM (SELECT i.conversation_id, i.entry, clock_timestamp() AS at FROM (SELECT * FROM ${input} ORDER BY ord) i) j
          WHERE c.id = j.conversation_id RETURNING c.*`;
}

/** `UPDATE` offering conversation `conv` to agent `agent` for `seconds` (an offer holds the agent's slot); returns the row. */
export function offerConversationSql(conv: string, agent: string, seconds: string): string {
  return `UPDATE conversations SET status = 'offered', agent_id = ${agent}, offer_expires_at = now() + ${seconds}::int * interval '1 second'
          WHERE id = ${conv} RETURNING *`;
}

/** `UPDATE` of the offered agent `agent` accepting conversation `conv` before its deadline; returns the row (none: no such offer). */
export function acceptOfferSql(conv: string, agent: string): string {
  return `UPDATE conversations SET status = 'active', assigned_at = now(), first_assigned_at = coalesce(first_assigned_at, now()), offer_expires_at = NULL
          WHERE id = ${conv} AND agent_id = ${agent} AND status = 'offered' AND offer_expires_at > now() RETURNING *`;
}

/**
 * Two WITH terms, `old` and `ended`, ending the offers that match `where` (a condition on
 * `conversations`, `tail` appended to the select, e.g. a lock clause): each conversation waits
 * again keeping `waiting_since` (so at the front of its line); with `remember` the agent is added
 * to those that passed on it. `ended` returns the rows and `offered_agent_id`. The update
 * re-checks status and agent, so an offer that changed meanwhile is left alone.
 */
export function endOffersSql(where: string, tail: string, remember: boolean): string {
  const passed = remember ? 'array_append(array_remove(c.offer_passed_agent_ids, old.agent_id), old.agent_id)' : 'c.offer_passed_agent_ids';
  return `old AS (
      SELECT id, agent_id FROM conversations WHERE status = 'offered' AND ${where} ORDER BY id ${tail}
    ), ended AS (
      UPDATE conversations c SET status = 'queued', agent_id = NULL, offer_expires_at = NULL,
        waiting_since = coalesce(c.waiting_since, c.created_at), offer_passed_agent_ids = ${passed}
      FROM old WHERE c.id = old.id AND c.status = 'offered' AND c.agent_id = old.agent_id
      RETURNING c.*, old.agent_id AS offered_agent_id
    )`;
}

/** Offered + active conversations of agent `a` (on channel `channel` when given): the one rule is presence's heldCountSql. */
export const heldSlotsSql = heldCountSql;

/** `{ "<channel>": n }` of agent `a`'s held slots per channel (the trigger-kept counters of heldCountSql). */
export function heldByChannelSql(a: string): string {
  return `(SELECT coalesce(jsonb_object_agg(h.channel, h.held), '{}'::jsonb) FROM agent_held_slots h WHERE h.agent_id = ${a} AND h.held > 0)`;
}

/** `UPDATE` placing conversation `conv` in its waiting line from `since` on; returns the row. */
export function joinWaitingLineSql(conv: string, since: string): string {
  return `UPDATE conversations SET waiting_since = ${since} WHERE id = ${conv} RETURNING *`;
}

/** 1 + the number of conversations before `c` (a queued row of the table) in its queue's line. */
export function positionOfSql(c: string): string {
  return `1 + ${aheadInLineSql(`${c}.queue_id`, `${c}.waiting_since`, `${c}.id`)}`;
}

/**
 * Conversation starts in one statement (group commit of starts, StartWriter): each input row is
 * routed (the queue share-locked, see routeQueueSql), stored with its first text and its
 * conversation.created and message.created events (outbox); answers one row per stored start with its `ord`
 * (a start whose queue was not found answers none). Ids are taken in arrival order.
 */
const START_BATCH_SQL = `
  WITH v AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[]) AS v(customer_id, text, channel, queue_id, actor, ord)
  ), numbered AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('conversations', 'id')) AS id, v.*, queue.id AS routed_queue_id, queue.webhook_url
    FROM (SELECT * FROM v ORDER BY ord) v CROSS JOIN LATERAL (${routeQueueSql('v.channel', 'v.queue_id')}) queue
  ), conv AS (
    INSERT INTO conversations (id, customer_id, queue_id, channel, status)
    SELECT n.id, n.customer_id, n.routed_queue_id, n.channel, 'queued' FROM numbered n ORDER BY n.ord RETURNING *
  ), first AS (
    INSERT INTO messages (conversation_id, sender_type, sender_id, text)
    SELECT n.id, 'customer', n.customer_id, n.text FROM numbered n WHERE n.text IS NOT NULL ORDER BY n.ord RETURNING *
  ), events AS (
    SELECT 2 * n.ord AS ord, 'conversation.created'::text AS type, conv.id AS conversation_id, conv.channel, n.actor::jsonb AS actor,
      jsonb_build_object('conversation', ${conversationJsonSql('conv')}) AS data
    FROM conv JOIN numbered n ON n.id = conv.id
    UNION ALL
    SELECT 2 * n.ord + 1, 'message.created', conv.id, conv.channel, n.actor::jsonb,
      jsonb_build_object('message', ${messageJsonSql('first')}, 'conversation', ${conversationJsonSql('conv')}, 'customer', ${customerJsonSql('conv')})
    FROM first JOIN conv ON conv.id = first.conversation_id JOIN numbered n ON n.id = conv.id
  ), ${outboxInsertSql('events')}
  SELECT conv.*, n.ord, n.webhook_url, first.id AS message_id, first.created_at AS message_created_at
  FROM conv JOIN numbered n ON n.id = conv.id LEFT JOIN first ON first.conversation_id = conv.id ORDER BY n.ord`;

/** One conversation start as StartWriter gathers them. */
export interface StartRequest {
  customerId: number;
  text: string | null;
  channel: string;
  queueId: number | null;
  actor: Actor;
}

/**
 * 1-based place of each conversation in its queue's waiting line (waiting-line.ts: queued ones
 * that joined it and offered ones, which keep their place while the offer runs).
 */
const POSITIONS_SQL = `
  SELECT c.id, 1 + ${aheadInLineSql('c.queue_id', 'c.since', 'c.id')} AS position
  FROM (SELECT id, queue_id, ${keptWaitSql('conversations')} AS since FROM conversations
        WHERE id = ANY($1::int[]) AND ((status = 'queued' AND waiting_since IS NOT NULL) OR status = 'offered')) c`;

/** A row of the waiting line as its pushes need it: the view's columns, timestamps as the view's ISO text. */
export type WaitingLineRow = Pick<ConversationRow, 'id' | 'customer_id' | 'agent_id' | 'queue_id' | 'channel' | 'status' | 'resolved_by' | 'notes'> & {
  created_at: string;
  assigned_at: string | null;
  resolved_at: string | null;
  offer_expires_at: string | null;
  position: number;
};

const WAITING_LINE_SQL = `
  SELECT l.id, l.customer_id, l.agent_id, l.queue_id, l.channel, l.status, l.resolved_by, l.notes, l.position,
         ${isoTextSql('l.created_at')} AS created_at, ${isoTextSql('l.assigned_at')} AS assigned_at,
         ${isoTextSql('l.resolved_at')} AS resolved_at, ${isoTextSql('l.offer_expires_at')} AS offer_expires_at
  FROM (${waitingLineSql('queue_id = ANY($1::int[])', 'id, customer_id, agent_id, queue_id, channel, status, resolved_by, notes, created_at, assigned_at, resolved_at, offer_expires_at')}) l
  ORDER BY l.position, l.queue_id`;
/** Rows of the line parsed per page (readInPages): a page of this many is a few ms of the event loop. */
const WAITING_LINE_PAGE = 1000;

/** Every SQL statement on `conversations` (the table of this library). Always given the caller's manager. */
@Injectable()
export class ConversationsRepository {
  /** One start in the caller's transaction (START_BATCH_SQL with one row); undefined when no queue matched. */
  async start(manager: EntityManager, customerId: number, text: string | null, channel: string, queueId: number | null, actor: Actor): Promise<StartedRow | undefined> {
    return (await this.startBatch(manager, [{ customerId, text, channel, queueId, actor }]))[0];
  }

  /** Many starts in one statement (START_BATCH_SQL); for each request in order, its row or undefined when no queue matched. */
  async startBatch(manager: EntityManager, requests: StartRequest[]): Promise<(StartedRow | undefined)[]> {
    const rows: (StartedRow & { ord: number })[] = await manager.query(START_BATCH_SQL, [
      requests.map((r) => r.customerId),
      requests.map((r) => r.text),
      requests.map((r) => r.channel),
      requests.map((r) => r.queueId),
      requests.map((r) => JSON.stringify(r.actor)),
      requests.map((_, i) => i),
    ]);
    const byOrd = new Map(rows.map(({ ord, ...row }) => [ord, row as StartedRow]));
    return requests.map((_, i) => byOrd.get(i));
  }

  async find(manager: EntityManager, id: number, forUpdate = false): Promise<ConversationRow | null> {
    const rows: ConversationRow[] = await manager.query(`SELECT * FROM conversations WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] ?? null;
  }

  /** The conversation with its queue's webhook URL. */
  async findWithWebhook(manager: EntityManager, id: number): Promise<(ConversationRow & { webhook_url: string | null }) | null> {
    const rows: (ConversationRow & { webhook_url: string | null })[] = await manager.query(
      `SELECT c.*, q.webhook_url FROM conversations c JOIN queues q ON q.id = c.queue_id WHERE c.id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async parties(manager: EntityManager, id: number): Promise<Pick<ConversationRow, 'customer_id' | 'agent_id' | 'status'> | null> {
    const rows: Pick<ConversationRow, 'customer_id' | 'agent_id' | 'status'>[] = await manager.query(
      `SELECT customer_id, agent_id, status FROM conversations WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async openIdOf(manager: EntityManager, customerId: number): Promise<number | null> {
    const open: { id: number }[] = await manager.query(`SELECT id FROM conversations WHERE customer_id = $1 AND status IN ('queued', 'offered', 'active')`, [customerId]);
    return open[0]?.id ?? null;
  }

  /** A page of conversations, newest first, and the number matching. */
  async list(manager: EntityManager, filter: ConversationFilter, page: number, limit: number): Promise<{ rows: ConversationRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.customerId !== undefined) add('customer_id = ?', filter.customerId);
    if (filter.agentId !== undefined) add(filter.offersHidden ? `agent_id = ? AND status <> 'offered'` : 'agent_id = ?', filter.agentId);
    if (filter.status && filter.offersHidden && filter.status !== 'active' && filter.status !== 'resolved') {
      add(`status = ANY(?::text[])`, filter.status === 'queued' ? ['queued', 'offered'] : []);
    } else if (filter.status) add('status = ?', filter.status);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [rows, count] = await Promise.all([
      manager.query(`SELECT * FROM conversations ${clause} ORDER BY id DESC LIMIT ${limit} OFFSET ${(page - 1) * limit}`, params),
      manager.query(`SELECT count(*)::int AS n FROM conversations ${clause}`, params),
    ]);
    return { rows, total: count[0].n };
  }

  /** The queued, offered and active conversations of an agent or a customer. */
  async openOf(manager: EntityManager, party: 'agent' | 'customer', id: number): Promise<ConversationRow[]> {
    const column = party === 'agent' ? 'agent_id' : 'customer_id';
    return manager.query(`SELECT * FROM conversations WHERE ${column} = $1 AND status IN ('queued', 'offered', 'active') ORDER BY id`, [id]);
  }

  async queuedByIds(manager: EntityManager, ids: number[]): Promise<ConversationRow[]> {
    return manager.query(`SELECT * FROM conversations WHERE id = ANY($1::int[]) AND status = 'queued'`, [ids]);
  }

  async countQueued(manager: EntityManager): Promise<number> {
    const rows: { n: string }[] = await manager.query(`SELECT count(*) AS n FROM conversations WHERE status = 'queued'`);
    return Number(rows[0].n);
  }

  async resolve(manager: EntityManager, id: number, by: string, notes: string | null): Promise<ConversationRow> {
    return returnedRows<ConversationRow>(
      await manager.query(
        // An offer that was never accepted leaves no agent on the conversation.
        `UPDATE conversations SET status = 'resolved', resolved_at = now(), resolved_by = $2, notes = coalesce($3, notes),
           agent_id = CASE WHEN status = 'offered' THEN NULL ELSE agent_id END, offer_expires_at = NULL
         WHERE id = $1 RETURNING *`,
        [id, by, notes],
      ),
    )[0];
  }

  /** Into another queue's waiting line, as a newcomer there (its wait starts when allocation places it). */
  async moveToQueue(manager: EntityManager, id: number, queueId: number): Promise<ConversationRow> {
    return returnedRows<ConversationRow>(
      await manager.query(
        `UPDATE conversations SET queue_id = $2, status = 'queued', agent_id = NULL, assigned_at = NULL, waiting_since = NULL WHERE id = $1 RETURNING *`,
        [id, queueId],
      ),
    )[0];
  }

  /** Puts an agent's active conversations back in the waiting line, keeping their original wait. */
  async requeueAgent(manager: EntityManager, agentId: number): Promise<ConversationRow[]> {
    return returnedRows<ConversationRow>(
      await manager.query(
        `UPDATE conversations SET status = 'queued', agent_id = NULL, assigned_at = NULL, waiting_since = coalesce(waiting_since, created_at)
         WHERE agent_id = $1 AND status = 'active' RETURNING *`,
        [agentId],
      ),
    );
  }

  /** Appends a transfer to `conversation_transfers` (append-only; the reports count it). */
  async recordTransfer(manager: EntityManager, from: ConversationRow, to: ConversationRow): Promise<void> {
    await manager.query(
      `INSERT INTO conversation_transfers (conversation_id, from_agent_id, to_agent_id, from_queue_id, to_queue_id) VALUES ($1, $2, $3, $4, $5)`,
      [from.id, from.agent_id, to.agent_id, from.queue_id, to.queue_id],
    );
  }

  /** Waiting positions of these conversations (1-based within their queue). */
  async positions(manager: EntityManager, ids: number[]): Promise<Map<number, number>> {
    if (!ids.length) return new Map();
    const rows: { id: number; position: number }[] = await manager.query(POSITIONS_SQL, [ids]);
    return new Map(rows.map((r) => [r.id, r.position]));
  }

  /** The whole waiting line of these queues (one snapshot, read in pages), each row with its place: the fronts of the lines first. */
  async waitingLine(manager: EntityManager, queueIds: number[]): Promise<WaitingLineRow[]> {
    return readInPages<WaitingLineRow>(manager, WAITING_LINE_SQL, [queueIds], WAITING_LINE_PAGE);
  }
}

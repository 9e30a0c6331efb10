import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { Actor, currentActor, WebhookEventType } from '@cc/common';
import { isoTextSql } from './sql';

/**
 * The transactional outbox of event webhooks (API.md section 14). An event is written in the
 * same transaction as the change it describes, fanned out at once to one delivery row per
 * matching subscription, so a crash can neither lose it nor send it for a change that rolled
 * back. Domain code queues events on its transaction with `recordEvent`; they are inserted, in
 * one statement, just before the commit. Single-statement writers (a message batch, a
 * conversation start) embed `outboxInsertSql` instead.
 */
export interface OutboxEvent {
  type: WebhookEventType;
  /** The conversation the event belongs to (events of one conversation are delivered in order). */
  conversationId: number | null;
  /** The conversation's channel, for subscriptions filtered by channel. */
  channel: string | null;
  /** Defaults to the actor of the request being served (system outside any request). */
  actor?: Actor;
  data: unknown;
}

const queued = new WeakMap<QueryRunner, OutboxEvent[]>();

/** A subscription that wants the event `e` (a row with type and channel). Written once, used by every outbox insert. */
function matches(e: string): string {
  return `w.active AND ${e}.type = ANY(w.events) AND (w.channels IS NULL OR ${e}.channel = ANY(w.channels))`;
}

/**
 * CTEs that store the events of `source` (a CTE with columns ord, type, conversation_id,
 * channel, actor, data) and one pending delivery per subscription that wants each. Nothing is
 * written when no subscription wants an event.
 */
export function outboxInsertSql(source: string): string {
  return `
  outbox_ev AS (
    INSERT INTO outbox_events (type, conversation_id, channel, actor, data)
    SELECT s.type, s.conversation_id, s.channel, s.actor, s.data FROM ${source} s
    WHERE EXISTS (SELECT 1 FROM webhooks w WHERE ${matches('s')})
    ORDER BY s.ord
    RETURNING id, type, conversation_id, channel
  ), outbox_del AS (
    INSERT INTO webhook_deliveries (event_id, webhook_id, conversation_id, next_attempt_at)
    SELECT e.id, w.id, e.conversation_id, ${firstDueSql('w.id', 'e.conversation_id')}
    FROM outbox_ev e JOIN webhooks w ON ${matches('e')}
    ORDER BY e.id, w.id
  )`;
}

/**
 * How long a new event of a line (webhook, conversation) that already has one pending is parked:
 * not due, so claims do not visit it while the head is in flight. The answer to the head hands it
 * over at once (OutboxRepository: the 2xx leases the next event in the same statement, a final
 * failure makes it due); the park only bounds the wait of an event stored while its head was
 * being answered (that answer's statement did not see it yet).
 */
export const PARKED_SECONDS = 2;

/**
 * When a new delivery of (\`webhook\`, \`conversation\`) is first due: now when nothing of its line is
 * pending; else parked (PARKED_SECONDS), and never before the one last in line (while the head
 * waits for a retry, the events behind it are not due, so claims never visit them;
 * OutboxRepository keeps the line's times in step as attempts fail and succeed). Order itself
 * does not rest on this: a claim takes only the oldest pending event of each line.
 */
function firstDueSql(webhook: string, conversation: string): string {
  return `coalesce((SELECT greatest(p.next_attempt_at, now() + make_interval(secs => ${PARKED_SECONDS})) FROM webhook_deliveries p
    WHERE p.webhook_id = ${webhook} AND p.conversation_id = ${conversation} AND p.status = 'pending'
    ORDER BY p.event_id DESC LIMIT 1), now())`;
}

const INSERT_QUEUED_SQL = `
  WITH src AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(ord int, type text, conversation_id int, channel text, actor jsonb, data jsonb)
  ), ${outboxInsertSql('src')}
  SELECT count(*)::int AS n FROM outbox_ev`;

/** A conversations row `c` as the wire's conversation (toConversationView in SQL; without `position` and its estimate). */
export function conversationJsonSql(c: string): string {
  return `jsonb_build_object('id', ${c}.id, 'customerId', ${c}.customer_id, 'agentId', ${c}.agent_id, 'queueId', ${c}.queue_id,
    'channel', ${c}.channel, 'status', ${c}.status, 'createdAt', ${isoTextSql(`${c}.created_at`)}, 'assignedAt', ${isoTextSql(`${c}.assigned_at`)},
    'resolvedAt', ${isoTextSql(`${c}.resolved_at`)}, 'resolvedBy', ${c}.resolved_by, 'notes', ${c}.notes)
    || CASE WHEN ${c}.status = 'offered' AND ${c}.offer_expires_at IS NOT NULL
         THEN jsonb_build_object('offerExpiresAt', ${isoTextSql(`${c}.offer_expires_at`)}) ELSE '{}'::jsonb END`;
}

/** A messages row `m` as the wire's message (toMessageView in SQL). */
export function messageJsonSql(m: string): string {
  return `jsonb_build_object('id', ${m}.id, 'conversationId', ${m}.conversation_id, 'senderType', ${m}.sender_type, 'senderId', ${m}.sender_id,
    'text', ${m}.text, 'clientMessageId', ${m}.client_message_id, 'createdAt', ${isoTextSql(`${m}.created_at`)})`;
}

/** The customer of conversation `c` as the wire's customer; a channel customer shows its id on that channel. */
export function customerJsonSql(c: string): string {
  return `(SELECT jsonb_build_object('id', cu.id, 'name', cu.name, 'email', cu.email, 'externalId', coalesce(cc.external_id, cu.external_id))
    FROM customers cu LEFT JOIN channel_customers cc ON cc.customer_id = cu.id AND cc.channel = ${c}.channel WHERE cu.id = ${c}.customer_id LIMIT 1)`;
}

/**
 * Queues `event` on the transaction of `manager` (stored just before its commit, with the
 * change); outside a transaction it is stored at once.
 */
export async function recordEvent(manager: EntityManager, event: OutboxEvent): Promise<void> {
  const withActor = { ...event, actor: event.actor ?? currentActor() };
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) {
    await insertEvents(manager, [withActor]);
    return;
  }
  const list = queued.get(runner) ?? [];
  list.push(withActor);
  queued.set(runner, list);
}

async function insertEvents(manager: EntityManager, events: OutboxEvent[]): Promise<void> {
  const rows = events.map((e, ord) => ({ ord, type: e.type, conversation_id: e.conversationId, channel: e.channel, actor: e.actor, data: e.data }));
  await manager.query(INSERT_QUEUED_SQL, [JSON.stringify(rows)]);
}

/** Stores the events queued on a transaction right before it commits; a failure aborts the commit. */
@Injectable()
export class OutboxSubscriber implements EntitySubscriberInterface {
  constructor(dataSource: DataSource) {
    dataSource.subscribers.push(this);
  }

  async beforeTransactionCommit(event: { queryRunner: QueryRunner }): Promise<void> {
    const runner = event.queryRunner as QueryRunner & { transactionDepth?: number };
    // A nested transaction's savepoint release is not the commit.
    if ((runner.transactionDepth ?? 1) > 1) return;
    const list = queued.get(runner);
    if (!list?.length) return;
    queued.delete(runner);
    await insertEvents(runner.manager, list);
  }

  afterTransactionRollback(event: { queryRunner: QueryRunner }): void {
    const runner = event.queryRunner as QueryRunner & { transactionDepth?: number };
    if ((runner.transactionDepth ?? 0) === 0) queued.delete(runner);
  }
}

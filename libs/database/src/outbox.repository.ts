import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isoTextSql, returnedRows } from './sql';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A claimed delivery with what its POST needs. */
export interface ClaimedDelivery {
  id: string;
  attempts: number;
  webhookId: number;
  url: string;
  secret: string;
  eventUid: string;
  occurredAt: Date;
  /** The POST's body: the event as JSON (API.md section 14). */
  body: string;
}

export interface DeliveryRow {
  id: string;
  event_uid: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
}

/** Whether an earlier event of `d`'s line (webhook, conversation) is still pending, leaving out the rows of CTE `settled`. */
function earlierPendingSql(d: string, settled?: string): string {
  return `EXISTS (
        SELECT 1 FROM webhook_deliveries p
        WHERE p.webhook_id = ${d}.webhook_id AND p.conversation_id = ${d}.conversation_id AND p.status = 'pending' AND p.event_id < ${d}.event_id
          ${settled ? `AND p.id NOT IN (SELECT id FROM ${settled})` : ''})`;
}

/** The POST of each leased row of CTE `rows` (id, attempts, webhook_id, event_id): the body is written here as text, so no event's data is parsed and serialized again on its way out. */
function claimedViewSql(rows: string): string {
  return `
  SELECT r.id, r.attempts, r.webhook_id AS "webhookId", w.url, w.secret, e.uid AS "eventUid", e.occurred_at AS "occurredAt",
    '{"id":"' || e.uid || '","type":' || to_json(e.type)::text || ',"occurredAt":"' || ${isoTextSql('e.occurred_at')} || '","actor":' || e.actor::text
      || ',"data":' || e.data::text || '}' AS body
  FROM ${rows} r JOIN webhooks w ON w.id = r.webhook_id JOIN outbox_events e ON e.id = r.event_id
  ORDER BY r.id`;
}

/*
 * Due deliveries, each the oldest pending one of its conversation for its webhook (a later event
 * waits for the earlier one), taken with SKIP LOCKED so that instances claiming at the same time
 * take different rows; the claim leases the row (and counts the attempt) in the same statement.
 * `settled` names a CTE of deliveries the same statement takes out of pending (its snapshot
 * still shows them pending): they hold up nothing and are not claimed again; `skip` names a CTE
 * of rows another part of the statement writes (a row is written once per statement).
 * The events behind a head in flight are not due (outbox.ts parks them), so a claim visits the
 * due heads and little else, however long the lines.
 */
function claimSql(limit: string, lease: string, settled?: string, skip?: string): string {
  const notIn = (alias: string, cte?: string) => (cte ? `AND ${alias}.id NOT IN (SELECT id FROM ${cte})` : '');
  return `
  due AS (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until <= now()) ${notIn('d', settled)} ${notIn('d', skip)}
      AND NOT ${earlierPendingSql('d', settled)}
    ORDER BY d.next_attempt_at, d.id
    LIMIT ${limit}
    FOR UPDATE OF d SKIP LOCKED
  ), claimed AS (
    UPDATE webhook_deliveries d SET attempts = d.attempts + 1, leased_until = now() + make_interval(secs => ${lease})
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.attempts, d.webhook_id, d.event_id
  )`;
}

const CLAIM_SQL = `WITH ${claimSql('$1', '$2')} ${claimedViewSql('claimed')}`;

/**
 * The next pending delivery of each line (webhook, conversation) whose head `settled` (a CTE of
 * webhook_id, conversation_id, event_id) left pending in this statement becomes due now: it may
 * have been parked behind the head (see firstDueSql in outbox.ts). Its rows have a
 * future next_attempt_at, so no claim of the same statement touches them.
 */
function releaseNextSql(name: string, settled: string): string {
  return `
  ${name} AS (
    UPDATE webhook_deliveries n SET next_attempt_at = now()
    FROM ${settled} s
    WHERE n.id = (SELECT p.id FROM webhook_deliveries p
                  WHERE p.webhook_id = s.webhook_id AND p.conversation_id = s.conversation_id AND p.status = 'pending' AND p.event_id > s.event_id
                  ORDER BY p.event_id LIMIT 1)
      AND n.next_attempt_at > now()
  )`;
}

/*
 * 2xx answers ($1 ids, $2 attempts, $3 status codes), each recorded only by the claim that made
 * that attempt (a late answer after a lost lease changes nothing). The next event of each
 * answered line is handed over in the same update: leased at once while the statement may claim
 * ($4 rows at most, lease $5 seconds), else only made due. It is the line's head now (no
 * earlier event pending but the answered one). A leased row keeps its parked next_attempt_at (at
 * most PARKED_SECONDS after it was stored, so past when its lease ends): only unindexed columns
 * change, and the update stays HOT (no index entry written).
 */
const DELIVERED_CTE = `
  delivered AS (
    UPDATE webhook_deliveries d SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_status_code = a.status_code, last_error = NULL
    FROM unnest($1::bigint[], $2::int[], $3::int[]) AS a(id, attempt, status_code)
    WHERE d.id = a.id AND d.attempts = a.attempt AND d.status = 'pending'
    RETURNING d.id, d.webhook_id, d.conversation_id, d.event_id
  ), next_up AS (
    SELECT n.id, row_number() OVER (ORDER BY n.id) <= $4 AS lease
    FROM delivered s
    CROSS JOIN LATERAL (SELECT p.id, p.webhook_id, p.conversation_id, p.event_id FROM webhook_deliveries p
                        WHERE p.webhook_id = s.webhook_id AND p.conversation_id = s.conversation_id AND p.status = 'pending' AND p.event_id > s.event_id
                        ORDER BY p.event_id LIMIT 1) n
    WHERE NOT ${earlierPendingSql('n', 'delivered')}
  ), handed AS (
    UPDATE webhook_deliveries n
    SET next_attempt_at = CASE WHEN x.lease THEN n.next_attempt_at ELSE now() END,
        attempts = n.attempts + CASE WHEN x.lease THEN 1 ELSE 0 END,
        leased_until = CASE WHEN x.lease THEN now() + make_interval(secs => $5) ELSE n.leased_until END
    FROM next_up x
    WHERE n.id = x.id AND n.status = 'pending' AND (n.leased_until IS NULL OR n.leased_until <= now()) AND (x.lease OR n.next_attempt_at > now())
    RETURNING n.id, n.attempts, n.webhook_id, n.event_id, x.lease
  )`;

/**
 * A failed attempt ($1 delivery, $2 its attempt): retried after $5 seconds, the events behind it
 * in its line wait at least as long; failed for good ($5 null), the next one is due at once.
 */
const ATTEMPT_FAILED_SQL = `
  WITH head AS (
    UPDATE webhook_deliveries
    SET status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'pending' END,
        next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $5::float8) END,
        leased_until = NULL, last_status_code = $3, last_error = $4
    WHERE id = $1 AND attempts = $2 AND status = 'pending'
    RETURNING webhook_id, conversation_id, event_id, status, next_attempt_at
  ), held AS (
    UPDATE webhook_deliveries f SET next_attempt_at = h.next_attempt_at
    FROM head h
    WHERE h.status = 'pending' AND f.webhook_id = h.webhook_id AND f.conversation_id = h.conversation_id
      AND f.status = 'pending' AND f.event_id > h.event_id AND f.next_attempt_at < h.next_attempt_at
  ), given_up AS (
    SELECT * FROM head WHERE status = 'failed'
  ), ${releaseNextSql('released', 'given_up')}
  SELECT count(*)::int AS n FROM head`;

// The rows handed over count against the claim's room ($4).
const DELIVERED_AND_CLAIM_SQL = `WITH ${DELIVERED_CTE},
  ${claimSql('greatest(0, $4 - (SELECT count(*) FROM handed WHERE lease))', '$5', 'delivered', 'next_up')},
  leased AS (SELECT id, attempts, webhook_id, event_id FROM handed WHERE lease UNION ALL SELECT id, attempts, webhook_id, event_id FROM claimed)
  ${claimedViewSql('leased')}`;

const LIST_COLUMNS = `d.id, e.uid AS event_uid, e.type, d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.delivered_at`;

/**
 * Every statement on the outbox tables (outbox_events, webhook_deliveries) besides the inserts
 * of outbox.ts: the dispatcher's claims and results, the listing, manual retries, pruning.
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  claim(limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
    return this.dataSource.query(CLAIM_SQL, [limit, leaseSeconds]);
  }

  /**
   * Records 2xx answers, several in one statement, and claims up to `limit` due deliveries in the
   * same statement (the next event of an answered conversation included): one round trip and
   * one commit for both.
   */
  deliveredAndClaim(answers: { id: string; attempt: number; statusCode: number }[], limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
    return this.dataSource.query(DELIVERED_AND_CLAIM_SQL, [
      answers.map((a) => a.id),
      answers.map((a) => a.attempt),
      answers.map((a) => a.statusCode),
      limit,
      leaseSeconds,
    ]);
  }

  /** Records a failed attempt: retried after `retryInSeconds`, or failed for good when null. */
  async attemptFailed(id: string, attempt: number, statusCode: number | null, error: string, retryInSeconds: number | null): Promise<void> {
    await this.dataSource.query(ATTEMPT_FAILED_SQL, [id, attempt, statusCode, error.slice(0, 1000), retryInSeconds]);
  }

  async list(webhookId: number, status: DeliveryStatus | undefined, limit: number, offset: number): Promise<{ rows: DeliveryRow[]; total: number }> {
    const filter = status ? `AND d.status = $2` : '';
    const params: unknown[] = status ? [webhookId, status] : [webhookId];
    const [rows, count] = await Promise.all([
      this.dataSource.query(
        `SELECT ${LIST_COLUMNS} FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id
         WHERE d.webhook_id = $1 ${filter} ORDER BY d.id DESC LIMIT ${limit} OFFSET ${offset}`,
        params,
      ),
      this.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries d WHERE d.webhook_id = $1 ${filter}`, params),
    ]);
    return { rows, total: count[0].n };
  }

  /**
   * Makes a pending or failed delivery due now (an attempt in flight keeps its lease, so it is
   * never sent twice at once). Answers the row's status before, or null when there is none.
   */
  async retryNow(webhookId: number, deliveryId: number): Promise<DeliveryStatus | null> {
    const rows = returnedRows<{ before: DeliveryStatus }>(
      await this.dataSource.query(
        `WITH before AS (SELECT id, status FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2 FOR UPDATE)
         UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now()
         FROM before WHERE d.id = before.id AND before.status <> 'delivered'
         RETURNING before.status AS before`,
        [deliveryId, webhookId],
      ),
    );
    if (rows.length) return rows[0].before;
    const found: { status: DeliveryStatus }[] = await this.dataSource.query(`SELECT status FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2`, [
      deliveryId,
      webhookId,
    ]);
    return found[0]?.status ?? null;
  }

  /**
   * The deliveries waiting to be sent, all instances: how many are pending and how long the oldest
   * has waited (null when none). Shows a backlog, e.g. when no instance dispatches.
   */
  async backlog(): Promise<{ pending: number; oldestSeconds: number | null }> {
    const [row]: { pending: number; oldest_seconds: number | null }[] = await this.dataSource.query(
      `SELECT count(*)::int AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest_seconds
       FROM webhook_deliveries WHERE status = 'pending'`,
    );
    return { pending: row.pending, oldestSeconds: row.oldest_seconds };
  }

  /** Deletes deliveries delivered more than `days` ago, and events left with no delivery. */
  async prune(days: number): Promise<number> {
    const [, deleted]: [unknown, number] = await this.dataSource.query(
      `DELETE FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at < now() - make_interval(days => $1)`,
      [days],
    );
    await this.dataSource.query(
      `DELETE FROM outbox_events e WHERE e.occurred_at < now() - make_interval(days => $1)
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)`,
      [days],
    );
    return deleted;
  }
}

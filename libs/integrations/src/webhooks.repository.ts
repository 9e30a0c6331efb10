import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returnedRows } from '@cc/database';

export interface WebhookRow {
  id: number;
  url: string;
  events: string[];
  channels: string[] | null;
  secret: string;
  active: boolean;
  created_at: Date;
}

export interface WebhookChanges {
  url?: string;
  events?: string[];
  /** null: every channel. */
  channels?: string[] | null;
  active?: boolean;
}

/** Every statement on webhooks (the subscriptions; their deliveries are the outbox's, in libs/database). */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(url: string, events: string[], channels: string[] | null, secret: string): Promise<WebhookRow> {
    const rows: WebhookRow[] = await this.dataSource.query(`INSERT INTO webhooks (url, events, channels, secret) VALUES ($1, $2, $3, $4) RETURNING *`, [
      url,
      events,
      channels,
      secret,
    ]);
    return rows[0];
  }

  async find(id: number): Promise<WebhookRow | null> {
    const rows: WebhookRow[] = await this.dataSource.query(`SELECT * FROM webhooks WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async list(limit: number, offset: number): Promise<{ rows: WebhookRow[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.dataSource.query(`SELECT * FROM webhooks ORDER BY id LIMIT $1 OFFSET $2`, [limit, offset]),
      this.dataSource.query(`SELECT count(*)::int AS n FROM webhooks`),
    ]);
    return { rows, total: count[0].n };
  }

  async update(id: number, changes: WebhookChanges): Promise<WebhookRow | null> {
    const rows = returnedRows<WebhookRow>(
      await this.dataSource.query(
        `UPDATE webhooks SET
           url = coalesce($2, url),
           events = coalesce($3, events),
           channels = CASE WHEN $4::boolean THEN $5::text[] ELSE channels END,
           active = coalesce($6, active),
           updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, changes.url ?? null, changes.events ?? null, changes.channels !== undefined, changes.channels ?? null, changes.active ?? null],
      ),
    );
    return rows[0] ?? null;
  }

  /** Its deliveries go with it (ON DELETE CASCADE). */
  async delete(id: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(`DELETE FROM webhooks WHERE id = $1`, [id]);
    return count > 0;
  }
}

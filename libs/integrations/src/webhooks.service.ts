import { Injectable } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { ConflictError, NotFoundError, paginated, Paginated } from '@cc/common';
import { OutboxRepository, toInt, toIso } from '@cc/database';
import { CreateWebhookDto, DeliveriesQuery, DeliveryView, UpdateWebhookDto, WebhookView } from './webhook.dto';
import { WebhookRow, WebhooksRepository } from './webhooks.repository';
import { WebhookDispatcher } from './webhook-dispatcher';

function view(row: WebhookRow): WebhookView {
  return { id: row.id, url: row.url, events: row.events, channels: row.channels, secret: row.secret, active: row.active, createdAt: toIso(row.created_at)! };
}

const noSuchWebhook = () => new NotFoundError('NoSuchWebhook', 'No such webhook');

/** Event-webhook subscriptions and their deliveries (API.md section 14). */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly outbox: OutboxRepository,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  async create(dto: CreateWebhookDto): Promise<WebhookView> {
    const secret = dto.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
    const row = await this.repo.insert(dto.url, dto.events, dto.channels ?? null, secret);
    return view(row);
  }

  async list(page: number, limit: number): Promise<Paginated<WebhookView>> {
    const { rows, total } = await this.repo.list(limit, (page - 1) * limit);
    return paginated(rows.map(view), page, limit, total);
  }

  async get(id: number): Promise<WebhookView> {
    const row = await this.repo.find(id);
    if (!row) throw noSuchWebhook();
    return view(row);
  }

  async update(id: number, dto: UpdateWebhookDto): Promise<WebhookView> {
    const row = await this.repo.update(id, dto);
    if (!row) throw noSuchWebhook();
    return view(row);
  }

  async delete(id: number): Promise<void> {
    if (!(await this.repo.delete(id))) throw noSuchWebhook();
  }

  async deliveries(id: number, query: DeliveriesQuery): Promise<Paginated<DeliveryView>> {
    await this.get(id);
    const { rows, total } = await this.outbox.list(id, query.status, query.limit, (query.page - 1) * query.limit);
    const data = rows.map((r) => ({
      id: toInt(r.id),
      eventId: r.event_uid,
      type: r.type,
      status: r.status,
      attempts: r.attempts,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      nextAttemptAt: r.status === 'pending' ? toIso(r.next_attempt_at) : null,
      deliveredAt: toIso(r.delivered_at),
    }));
    return paginated(data, query.page, query.limit, total);
  }

  /** A failed or pending delivery is tried again at once; a delivered one is a 409. */
  async retry(id: number, deliveryId: number): Promise<void> {
    await this.get(id);
    const before = await this.outbox.retryNow(id, deliveryId);
    if (before === null) throw new NotFoundError('NoSuchDelivery', 'No such delivery');
    if (before === 'delivered') throw new ConflictError('AlreadyDelivered', 'Delivery already delivered');
    this.dispatcher.kick();
  }
}

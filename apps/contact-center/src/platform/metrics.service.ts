import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { ConversationsRepository } from '@cc/conversations';
import { allocationLockHoldSeconds, OutboxRepository } from '@cc/database';
import { logLinesDropped } from './log-destination';

/** Prometheus metrics of this instance; `/metrics` exposes them (http/metrics), the realtime layer counts into them. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly socketsConnected = new Gauge({ name: 'cc_sockets_connected', help: 'Connected sockets', labelNames: ['namespace'], registers: [this.registry] });
  readonly messagesSent = new Counter({ name: 'cc_messages_sent_total', help: 'Messages stored', labelNames: ['sender_type'], registers: [this.registry] });
  readonly allocations = new Counter({ name: 'cc_allocations_total', help: 'Conversations assigned to an agent', registers: [this.registry] });
  readonly ackLatency = new Histogram({
    name: 'cc_socket_ack_seconds',
    help: 'Time from a client event to its acknowledgement',
    labelNames: ['event'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor(dataSource: DataSource, conversations: ConversationsRepository, outbox: OutboxRepository) {
    collectDefaultMetrics({ register: this.registry, prefix: 'cc_' });
    this.registry.registerMetric(allocationLockHoldSeconds);
    this.registry.registerMetric(logLinesDropped);
    new Gauge({
      name: 'cc_conversations_waiting',
      help: 'Conversations waiting for an agent (all instances)',
      registers: [this.registry],
      async collect() {
        if (!dataSource.isInitialized) return;
        this.set(await conversations.countQueued(dataSource.manager));
      },
    });
    // The outbox's backlog (all instances): grows while no instance dispatches (WEBHOOK_DISPATCH) or a receiver is down.
    // Both gauges are collected at once by a scrape and share its one read.
    let backlogRead: ReturnType<OutboxRepository['backlog']> | null = null;
    const backlog = () => (backlogRead ??= outbox.backlog().finally(() => (backlogRead = null)));
    new Gauge({
      name: 'cc_webhook_deliveries_pending',
      help: 'Event-webhook deliveries waiting to be sent (all instances)',
      registers: [this.registry],
      async collect() {
        if (!dataSource.isInitialized) return;
        this.set((await backlog()).pending);
      },
    });
    new Gauge({
      name: 'cc_webhook_oldest_pending_seconds',
      help: 'How long the oldest pending event-webhook delivery has waited (0 when none)',
      registers: [this.registry],
      async collect() {
        if (!dataSource.isInitialized) return;
        this.set((await backlog()).oldestSeconds ?? 0);
      },
    });
  }
}

import { ConversationView } from '@cc/common';
import { toIso } from '@cc/database';

/** A `conversations` row as raw SQL returns it; the one mapping to the wire shape. */
export interface ConversationRow {
  id: number;
  customer_id: number;
  agent_id: number | null;
  queue_id: number;
  channel: string;
  status: ConversationView['status'];
  created_at: Date;
  waiting_since: Date | null;
  assigned_at: Date | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  notes: string | null;
  offer_expires_at?: Date | null;
  /** Agents that declined or missed an offer of it: offered it again only when nobody else is eligible. */
  offer_passed_agent_ids?: number[];
  /** Its place in the waiting line, when the statement that read the row computed it. */
  position?: number;
}

export function toConversationView(row: ConversationRow, position?: number | null): ConversationView {
  const view: ConversationView = {
    id: row.id,
    customerId: row.customer_id,
    agentId: row.agent_id,
    queueId: row.queue_id,
    channel: row.channel,
    status: row.status,
    createdAt: toIso(row.created_at)!,
    assignedAt: toIso(row.assigned_at),
    resolvedAt: toIso(row.resolved_at),
    resolvedBy: row.resolved_by,
    notes: row.notes,
  };
  if (row.status === 'queued' && position) view.position = position;
  if (row.status === 'offered' && row.offer_expires_at) view.offerExpiresAt = toIso(row.offer_expires_at)!;
  return view;
}

/**
 * The waiting line: each queued conversation's 1-based place in its queue (requeued ones keep
 * their original wait). `queueFilter` may narrow the queues, never the rows within a queue.
 */
export function waitingLineSql(queueFilter = 'true'): string {
  return `
  SELECT id, queue_id, row_number() OVER (PARTITION BY queue_id ORDER BY waiting_since, id)::int AS position
  FROM conversations WHERE status = 'queued' AND waiting_since IS NOT NULL AND (${queueFilter})`;
}

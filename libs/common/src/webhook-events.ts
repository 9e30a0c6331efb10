/** The event types an event webhook may subscribe to (API.md section 14). */
export const WEBHOOK_EVENT_TYPES = [
  'conversation.created',
  'conversation.queued',
  'conversation.offered',
  'conversation.assigned',
  'conversation.transferred',
  'conversation.resolved',
  'message.created',
  'agent.status.changed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

import type { ClientEvent, ServerEvent } from '@cc/protocol';
import { OfferPayload, ResolveConversationPayload, SendMessagePayload, StartConversationPayload, SyncMessagesPayload, TypingPayload } from './dto/socket.dto';
import type { SocketNamespace } from './server-events';

/*
 * The socket API as the AsyncAPI document describes it (GET /docs/asyncapi.json, built by
 * api-docs/asyncapi.ts). Keyed by the event maps of @cc/protocol: an event added there and not
 * here (or the other way round) fails the type check, and test/api-docs.e2e-spec.ts checks the
 * gateways' handlers and real payloads against this description.
 *
 * Schemas are JSON Schema; `{ $ref: 'Conversation' }` names a schema of the OpenAPI document
 * (api-docs/schemas.dto.ts), so HTTP and sockets describe each shape once.
 */
export type SchemaSpec = Record<string, unknown>;

export const ref = (name: string): SchemaSpec => ({ $ref: name });
const object = (properties: Record<string, SchemaSpec>, required = Object.keys(properties)): SchemaSpec => ({
  type: 'object',
  properties,
  required,
});
const nullable = (schema: SchemaSpec): SchemaSpec => ({ oneOf: [schema, { type: 'null' }] });

export interface ServerEventDoc {
  summary: string;
  /** Who receives it. */
  to: string;
  namespaces: SocketNamespace[];
  payload: SchemaSpec;
}

export interface ClientEventDoc {
  summary: string;
  /** Who may send it. */
  from: string;
  namespaces: SocketNamespace[];
  /** The validated payload class (its schema comes from the OpenAPI document). */
  payload: new () => object;
  /** `data` of a successful ack. */
  ackData: SchemaSpec;
}

const BOTH: SocketNamespace[] = ['/agent', '/customer'];

export const SERVER_EVENT_DOCS: { [K in ServerEvent]: ServerEventDoc } = {
  ready: {
    summary: 'Sent on every (re)connection: who the socket is and its queued, offered and active conversations',
    to: 'the connecting socket; agents also get their `status`',
    namespaces: BOTH,
    payload: object({
      user: { allOf: [ref('User'), { type: 'object', properties: { status: ref('AgentStatus') } }] },
      conversations: { type: 'array', items: ref('Conversation') },
    }),
  },
  'message.new': {
    summary: 'A message was stored in one of the socket user\'s conversations',
    to: 'every socket of the customer and of the agent (the sender\'s too: dedupe by `message.id`)',
    namespaces: BOTH,
    payload: object({ message: ref('Message') }),
  },
  'conversation.queued': {
    summary: 'The conversation waits (again); sent again whenever its position changes',
    to: 'the customer',
    namespaces: ['/customer'],
    payload: object({ conversation: ref('Conversation') }),
  },
  'conversation.assigned': {
    summary: 'An agent took the conversation',
    to: 'the customer, the agent, the previous agent on a reassignment, admins',
    namespaces: BOTH,
    payload: object({ conversation: ref('Conversation'), agent: ref('AgentRef') }),
  },
  'conversation.resolved': {
    summary: 'The conversation was resolved',
    to: 'the customer, the agent, admins',
    namespaces: BOTH,
    payload: object({ conversation: ref('Conversation') }),
  },
  'conversation.transferred': {
    summary: 'The conversation moved to another agent or queue (`toAgentId: null`: back to a waiting line)',
    to: 'both agents and the customer',
    namespaces: BOTH,
    payload: object({ conversation: ref('Conversation'), fromAgentId: nullable({ type: 'integer' }), toAgentId: nullable({ type: 'integer' }) }),
  },
  'conversation.offered': {
    summary: 'A conversation is offered to the agent (its slot is held): answer with `offer.accept` or `offer.decline` before `expiresAt`',
    to: 'the offered agent, admins',
    namespaces: ['/agent'],
    payload: object({ conversation: ref('Conversation'), expiresAt: { type: 'string', format: 'date-time' } }),
  },
  'conversation.offer.revoked': {
    summary: 'An offer ended unaccepted; the conversation waits again at the front of its line',
    to: 'the agent it was offered to, admins',
    namespaces: ['/agent'],
    payload: object({ conversationId: { type: 'integer' }, reason: { type: 'string', enum: ['declined', 'expired', 'logoff', 'paused'] } }),
  },
  typing: {
    summary: 'The other side is typing (or stopped)',
    to: 'the other participants only',
    namespaces: BOTH,
    payload: object({
      conversationId: { type: 'integer' },
      senderType: { type: 'string', enum: ['customer', 'agent', 'system'] },
      typing: { type: 'boolean' },
    }),
  },
  'agent.status': {
    summary: 'An agent\'s status changed (login, logoff, pause, wrap-up, load)',
    to: 'admins, and the agent itself',
    namespaces: ['/agent'],
    payload: ref('AgentStatus'),
  },
  'stats.queues': {
    summary: 'Live queue statistics (as GET /api/v1/stats/queues), at most once per second and only when they changed',
    to: 'admins',
    namespaces: ['/agent'],
    payload: { type: 'array', items: ref('QueueStats') },
  },
};

export const CLIENT_EVENT_DOCS: { [K in ClientEvent]: ClientEventDoc } = {
  'conversation.start': {
    summary: 'Start a conversation (409 with `conversationId` when one is open)',
    from: 'customers',
    namespaces: ['/customer'],
    payload: StartConversationPayload,
    ackData: ref('Conversation'),
  },
  'message.send': {
    summary: 'Send a message; a retried `clientMessageId` answers the stored message again',
    from: 'agents, admins and customers (participants); rate limited per socket (429)',
    namespaces: BOTH,
    payload: SendMessagePayload,
    ackData: ref('Message'),
  },
  'messages.sync': {
    summary: 'The messages after `afterId`, oldest first (at most 1000: repeat with the last id)',
    from: 'participants',
    namespaces: BOTH,
    payload: SyncMessagesPayload,
    ackData: { type: 'array', items: ref('Message') },
  },
  'conversation.resolve': {
    summary: 'Resolve the conversation',
    from: 'its agent, its customer, an admin',
    namespaces: BOTH,
    payload: ResolveConversationPayload,
    ackData: ref('Conversation'),
  },
  typing: {
    summary: 'Tell the other side whether this side is typing',
    from: 'participants',
    namespaces: BOTH,
    payload: TypingPayload,
    ackData: { type: 'null' },
  },
  'offer.accept': {
    summary: 'Accept an offer: the conversation becomes active (409 `No offer` when it is not offered to the caller)',
    from: 'the offered agent',
    namespaces: ['/agent'],
    payload: OfferPayload,
    ackData: ref('Conversation'),
  },
  'offer.decline': {
    summary: 'Decline an offer: the conversation goes to the next eligible agent (409 `No offer` when it is not offered to the caller)',
    from: 'the offered agent',
    namespaces: ['/agent'],
    payload: OfferPayload,
    ackData: ref('Conversation'),
  },
};

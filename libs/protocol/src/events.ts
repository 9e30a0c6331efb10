import { AgentStatusView, ConversationView, ErrorBody, MessageView, OfferEndReason, QueueStatsView, SenderType, UserView } from './views';

/**
 * Every server → client event and its payload (API.md section 8 and the sections that extend
 * it). Nothing leaves a socket otherwise: the server's `SocketHub.send` and the client's typed
 * `on(...)` are both checked against this map. New events are added here.
 */
export interface ServerEventMap {
  ready: { user: UserView & { status?: AgentStatusView }; conversations: ConversationView[] };
  'message.new': { message: MessageView };
  'conversation.queued': { conversation: ConversationView };
  'conversation.assigned': { conversation: ConversationView; agent: { id: number; name: string } };
  'conversation.resolved': { conversation: ConversationView };
  'conversation.transferred': { conversation: ConversationView; fromAgentId: number | null; toAgentId: number | null };
  /** To the offered agent and admins (section 11): answer with `offer.accept` / `offer.decline` before `expiresAt`. */
  'conversation.offered': { conversation: ConversationView; expiresAt: string };
  /** To the agent whose offer ended unaccepted, and admins. */
  'conversation.offer.revoked': { conversationId: number; reason: OfferEndReason };
  typing: { conversationId: number; senderType: SenderType; typing: boolean };
  'agent.status': AgentStatusView;
  /** Admins: the live queue statistics (as GET /stats/queues), at most once per second and only when they changed. */
  'stats.queues': QueueStatsView[];
}

export type ServerEvent = keyof ServerEventMap;

/** The acknowledgement of every client event (API.md section 8). */
export type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error: ErrorBody };

/** Client → server payloads and their ack `data`. */
export interface StartConversationPayload {
  channel?: string;
  queueId?: number;
  text?: string;
}

export interface SendMessagePayload {
  conversationId: number;
  text: string;
  clientMessageId?: string;
}

export interface SyncMessagesPayload {
  conversationId: number;
  afterId: number;
}

export interface ResolveConversationPayload {
  conversationId: number;
  notes?: string;
}

export interface TypingPayload {
  conversationId: number;
  typing: boolean;
}

/** `offer.accept` and `offer.decline` (section 11): the offered agent only. */
export interface OfferPayload {
  conversationId: number;
}

/** Every client → server event: its payload and the `data` of a successful ack. */
export interface ClientEventMap {
  'conversation.start': { payload: StartConversationPayload; data: ConversationView };
  'message.send': { payload: SendMessagePayload; data: MessageView };
  'messages.sync': { payload: SyncMessagesPayload; data: MessageView[] };
  'conversation.resolve': { payload: ResolveConversationPayload; data: ConversationView };
  typing: { payload: TypingPayload; data: null };
  'offer.accept': { payload: OfferPayload; data: ConversationView };
  'offer.decline': { payload: OfferPayload; data: ConversationView };
}

export type ClientEvent = keyof ClientEventMap;

/** The client events each namespace accepts. */
export type AgentClientEvent = Exclude<ClientEvent, 'conversation.start'>;
export type CustomerClientEvent = Exclude<ClientEvent, 'offer.accept' | 'offer.decline'>;

/**
 * Wire shapes of API.md shared by HTTP answers, socket events and domain events. Types only:
 * this library imports nothing, so the server and browser clients (`@cc/client`, the console,
 * the widget) compile against the very same definitions.
 */

export type Role = 'admin' | 'agent' | 'customer';

/** Who caused a change: every event webhook names it (API.md section 14). */
export interface Actor {
  type: 'admin' | 'agent' | 'customer' | 'api-key' | 'system';
  id: number | null;
}

export interface Principal {
  role: Role;
  id: number;
  /** Set when the caller authenticated with an API key (API.md section 14): the key's id. */
  apiKeyId?: number;
  /** Who to record as the actor of the changes, when not the principal itself (a connector posting as a customer). */
  actor?: Actor;
}

export type AgentState = 'offline' | 'available' | 'busy' | 'paused' | 'wrap-up';

export interface AgentStatusView {
  id: number;
  number: string | null;
  logged: boolean;
  extension: string | null;
  context: string | null;
  paused: boolean;
  pauseReason: { id: number; name: string } | null;
  wrapUpUntil: string | null;
  state: AgentState;
  activeConversations: number;
  /** Active conversations per channel (section 12); the values add up to `activeConversations`. */
  activeByChannel: Record<string, number>;
  /** Offers waiting for the agent's answer (section 11): they hold slots like active conversations. */
  offeredConversations: number;
  maxConcurrent: number;
  queueIds: number[];
}

export type ConversationStatus = 'queued' | 'offered' | 'active' | 'resolved';

/** Why an offer ended without being accepted (`conversation.offer.revoked`). */
export type OfferEndReason = 'declined' | 'expired' | 'logoff' | 'paused';

export interface ConversationView {
  id: number;
  customerId: number;
  agentId: number | null;
  queueId: number;
  channel: string;
  status: ConversationStatus;
  createdAt: string;
  assignedAt: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  notes: string | null;
  position?: number;
  /** While `offered`: when the offer expires. */
  offerExpiresAt?: string;
  /** While queued: the estimated seconds until assignment, or null without a basis (API.md section 13). */
  estimatedWaitSeconds?: number | null;
}

export type SenderType = 'customer' | 'agent' | 'system';

export interface MessageView {
  id: number;
  conversationId: number;
  senderType: SenderType;
  senderId: number | null;
  text: string;
  clientMessageId: string | null;
  createdAt: string;
}

export interface Paginated<T> {
  data: T[];
  meta: { page: number; limit: number; total: number; totalPages: number };
}

/** `GET /auth/me`, `user` of `POST /auth/login` and of `ready`. */
export interface UserView {
  id: number;
  role: Role;
  name: string | null;
  email: string | null;
  externalId?: string | null;
}

export interface CustomerView {
  id: number;
  name: string | null;
  email: string | null;
  externalId: string | null;
}

/** `POST /auth/login`. */
export interface LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: UserView;
}

/** `POST /customers/session`. */
export interface CustomerSessionResult {
  accessToken: string;
  customer: CustomerView;
}

export interface PauseReasonView {
  id: number;
  name: string;
}

export type RoutingType = 'app' | 'phone';

/** The agent resource of API.md section 4. */
export interface AgentView {
  id: number;
  email: string;
  name: string;
  number: string | null;
  skills: string[];
  maxConcurrent: number;
  /** Caps per channel on offered + active conversations (section 12). */
  channelCapacity: Record<string, number>;
  wrapUpSeconds: number;
  manualStatus: string | null;
  routingType: RoutingType;
  phoneNumber: string | null;
  queueIds: number[];
  createdAt: string;
  updatedAt: string;
  stats: {
    activeConversations: number;
    totalConversations: number;
    totalResolved: number;
    latestConversation: { id: number; status: ConversationStatus; createdAt: string } | null;
  };
  status: Pick<AgentStatusView, 'logged' | 'extension' | 'context' | 'paused' | 'pauseReason' | 'wrapUpUntil' | 'state' | 'activeByChannel'>;
}

export type QueueStrategy = 'least-busy' | 'longest-idle' | 'round-robin';
export type QueueOverflow = 'wait' | 'overflow-online' | 'overflow-any';

/** The queue resource of API.md section 6. */
export interface QueueView {
  id: number;
  name: string;
  strategy: QueueStrategy;
  overflow: QueueOverflow;
  channels: string[];
  priority: number;
  webhookUrl: string | null;
  webhookTimeoutMs: number;
  /** 0: direct assignment; else automatic allocation offers and waits this long (section 11). */
  offerTimeoutSeconds: number;
  pauseOnMissedOffer: boolean;
  /** Service-level target in seconds (API.md section 13). */
  slaSeconds: number;
  memberIds: number[];
  waiting: { count: number; oldestSince: string | null };
}

/** `GET /conversations/:id/messages`. */
export interface MessagePage {
  data: MessageView[];
  meta: { hasMore: boolean };
}

/** The error body of every 4xx/5xx answer and of every error ack. */
export interface ErrorBody {
  statusCode: number;
  message: string | string[];
  [extra: string]: unknown;
}

/** Agents counted by state (`wrap-up` as `wrapUp`). */
export interface AgentStateCounts {
  offline: number;
  available: number;
  busy: number;
  paused: number;
  wrapUp: number;
}

/** One queue of `GET /stats/queues` and of the `stats.queues` push (API.md section 13). */
export interface QueueStatsView {
  queueId: number;
  name: string;
  waiting: number;
  offered: number;
  active: number;
  oldestWaitingSince: string | null;
  longestWaitSeconds: number;
  estimatedWaitSeconds: number | null;
  agents: AgentStateCounts;
}

/** One agent of `GET /stats/agents`. */
export interface AgentStatsView {
  agentId: number;
  name: string;
  state: AgentState;
  stateSince: string;
  activeConversations: number;
  /** Active conversations per channel, as in the agent status (offers not counted); the values add up to `activeConversations`. */
  activeByChannel: Record<string, number>;
}

export interface ConversationMeasures {
  started: number;
  assigned: number;
  resolved: number;
  abandoned: number;
  transferred: number;
  avgWaitSeconds: number | null;
  maxWaitSeconds: number | null;
  avgHandleSeconds: number | null;
  avgFirstResponseSeconds: number | null;
  /** Share (0..1) of the conversations answered or abandoned that were assigned within the queue's slaSeconds. */
  serviceLevel: number | null;
}

/** `GET /reports/conversations`. */
export interface ConversationReport {
  buckets: (ConversationMeasures & { start: string })[];
  total: ConversationMeasures;
}

/** One agent of `GET /reports/agents`. */
export interface AgentReportView {
  agentId: number;
  name: string;
  secondsByState: AgentStateCounts;
  assigned: number;
  resolved: number;
  transferredOut: number;
  missedOffers: number;
  avgHandleSeconds: number | null;
  avgFirstResponseSeconds: number | null;
}

/** Wire shapes of API.md shared by HTTP answers, socket events and domain events. */
/** Ids are PostgreSQL integers: anything larger is a 400, never a database error. */
export const MAX_ID = 2_147_483_647;

export type Role = 'admin' | 'agent' | 'customer';

export interface Principal {
  role: Role;
  id: number;
  /** Set when the caller authenticated with an API key (API.md section 14): the key's id. */
  apiKeyId?: number;
  /** Who to record as the actor of the changes, when not the principal itself (a connector posting as a customer). */
  actor?: import('./actor').Actor;
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
  maxConcurrent: number;
  queueIds: number[];
}

export type ConversationStatus = 'queued' | 'active' | 'resolved';

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

export function paginated<T>(data: T[], page: number, limit: number, total: number): Paginated<T> {
  return { data, meta: { page, limit, total, totalPages: Math.ceil(total / limit) } };
}

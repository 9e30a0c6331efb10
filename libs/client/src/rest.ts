import type {
  AgentStatusView,
  AgentView,
  ConversationView,
  CustomerSessionResult,
  CustomerView,
  ErrorBody,
  LoginResult,
  MessagePage,
  MessageView,
  Paginated,
  PauseReasonView,
  QueueStatsView,
  AgentStatsView,
  QueueView,
  UserView,
} from '@cc/protocol';
import { ApiError } from './errors';

export interface RestOptions {
  /** Origin of the server, e.g. `http://localhost:3000`; empty for the page's own origin. */
  baseUrl?: string;
  token?: string | null;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined | null>;

/**
 * The HTTP routes clients use (API.md sections 3-7), typed with `@cc/protocol`. Every non-2xx
 * answer rejects with an `ApiError` carrying the contract's error body.
 */
export class RestClient {
  readonly baseUrl: string;
  token: string | null;
  private readonly fetchFn: typeof fetch;

  constructor(options: RestOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    this.token = options.token ?? null;
    this.fetchFn = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  /** Any route under `/api/v1`: `request('GET', '/stats/queues')`. */
  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const qs = query ? Object.entries(query).filter(([, v]) => v !== undefined && v !== null) : [];
    const url = `${this.baseUrl}/api/v1${path}${qs.length ? `?${new URLSearchParams(qs.map(([k, v]) => [k, String(v)]))}` : ''}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const res = await this.fetchFn(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const parsed: unknown = text ? safeJson(text) : null;
    if (!res.ok) {
      const error = (parsed && typeof parsed === 'object' ? parsed : { statusCode: res.status, message: text || res.statusText }) as ErrorBody;
      throw new ApiError({ ...error, statusCode: error.statusCode ?? res.status });
    }
    return parsed as T;
  }

  // Auth (section 3)
  async login(email: string, password: string): Promise<LoginResult> {
    const result = await this.request<LoginResult>('POST', '/auth/login', { email, password });
    this.token = result.accessToken;
    return result;
  }

  async logout(): Promise<void> {
    await this.request<void>('POST', '/auth/logout');
    this.token = null;
  }

  me(): Promise<UserView> {
    return this.request('GET', '/auth/me');
  }

  async customerSession(body: { name?: string; email?: string; externalId?: string; identityHash?: string } = {}): Promise<CustomerSessionResult> {
    const result = await this.request<CustomerSessionResult>('POST', '/customers/session', body);
    this.token = result.accessToken;
    return result;
  }

  // Agents and presence (sections 4, 5)
  agents(query: { page?: number; limit?: number; q?: string } = {}): Promise<Paginated<AgentView>> {
    return this.request('GET', '/agents', undefined, query);
  }

  agentStatuses(): Promise<AgentStatusView[]> {
    return this.request('GET', '/agents/statuses');
  }

  agentStatus(agentId: number): Promise<AgentStatusView> {
    return this.request('GET', `/agents/${agentId}/status`);
  }

  presenceLogin(agentId: number, body: { extension?: string; context?: string; force?: boolean } = {}): Promise<AgentStatusView> {
    return this.request('POST', `/agents/${agentId}/login`, body);
  }

  presenceLogoff(agentId: number): Promise<AgentStatusView> {
    return this.request('POST', `/agents/${agentId}/logoff`);
  }

  pause(agentId: number, reasonId?: number): Promise<AgentStatusView> {
    return this.request('POST', `/agents/${agentId}/pause`, reasonId === undefined ? {} : { reasonId });
  }

  unpause(agentId: number): Promise<AgentStatusView> {
    return this.request('POST', `/agents/${agentId}/unpause`);
  }

  async pauseReasons(): Promise<PauseReasonView[]> {
    const page = await this.request<Paginated<PauseReasonView> | PauseReasonView[]>('GET', '/pause-reasons', undefined, { limit: 100 });
    return Array.isArray(page) ? page : page.data;
  }

  // Queues (section 6)
  queues(query: { page?: number; limit?: number } = {}): Promise<Paginated<QueueView>> {
    return this.request('GET', '/queues', undefined, query);
  }

  // Conversations (section 7)
  conversations(query: { status?: string; agentId?: number; page?: number; limit?: number } = {}): Promise<Paginated<ConversationView>> {
    return this.request('GET', '/conversations', undefined, query);
  }

  conversation(id: number): Promise<ConversationView> {
    return this.request('GET', `/conversations/${id}`);
  }

  /** The conversation's customer (an extension: participants and admins). */
  conversationCustomer(id: number): Promise<CustomerView> {
    return this.request('GET', `/conversations/${id}/customer`);
  }

  startConversation(body: { channel?: string; queueId?: number; text?: string } = {}): Promise<ConversationView> {
    return this.request('POST', '/conversations', body);
  }

  messages(conversationId: number, query: { after?: number; before?: number; limit?: number } = {}): Promise<MessagePage> {
    return this.request('GET', `/conversations/${conversationId}/messages`, undefined, query);
  }

  sendMessage(conversationId: number, text: string, clientMessageId?: string): Promise<MessageView> {
    return this.request('POST', `/conversations/${conversationId}/messages`, clientMessageId ? { text, clientMessageId } : { text });
  }

  resolve(conversationId: number, notes?: string): Promise<ConversationView> {
    return this.request('POST', `/conversations/${conversationId}/resolve`, notes === undefined ? {} : { notes });
  }

  transfer(conversationId: number, to: { agentId: number } | { queueId: number }): Promise<ConversationView> {
    return this.request('POST', `/conversations/${conversationId}/transfer`, to);
  }

  assign(conversationId: number, agentId: number): Promise<ConversationView> {
    return this.request('POST', `/conversations/${conversationId}/assign`, { agentId });
  }

  // Statistics (section 13, admin)
  statsQueues(): Promise<QueueStatsView[]> {
    return this.request('GET', '/stats/queues');
  }

  statsAgents(): Promise<AgentStatsView[]> {
    return this.request('GET', '/stats/agents');
  }

  /** Offers (section 11): the offered agent accepts or declines. */
  acceptOffer(conversationId: number): Promise<ConversationView> {
    return this.request('POST', `/conversations/${conversationId}/accept`);
  }

  declineOffer(conversationId: number): Promise<ConversationView> {
    return this.request('POST', `/conversations/${conversationId}/decline`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The slice of our HTTP API (API.md sections 3, 4, 5, 7) the bench needs for its setup. */
import { mapLimit } from './concurrency';
import { JsonClient } from './http';

const API = '/api/v1';

export interface Conversation {
  id: number;
  customerId: number;
  agentId: number | null;
  status: 'queued' | 'active' | 'resolved';
  position?: number;
}

export interface AgentStatus {
  id: number;
  activeConversations: number;
  maxConcurrent: number;
  logged: boolean;
  state: string;
}

export interface Credentials {
  email: string;
  password: string;
}

export interface Session {
  token: string;
  id: number;
}

interface Page<T> {
  data: T[];
  meta: { total: number };
}

export class ContactCenterApi {
  readonly http: JsonClient;

  constructor(
    readonly baseUrl: string,
    maxSockets = 64,
  ) {
    this.http = new JsonClient(baseUrl, maxSockets);
  }

  async health(): Promise<boolean> {
    try {
      return (await this.http.send('GET', `${API}/health`, undefined, undefined, 2000)).status === 200;
    } catch {
      return false;
    }
  }

  async login({ email, password }: Credentials): Promise<Session> {
    const body = await this.http.call<{ accessToken: string; user: { id: number } }>('POST', `${API}/auth/login`, { email, password }, undefined, [200, 201]);
    return { token: body.accessToken, id: body.user.id };
  }

  async createAgent(admin: string, agent: Credentials & { name: string; maxConcurrent: number; number?: string }): Promise<number> {
    const body = await this.http.call<{ id: number }>('POST', `${API}/agents`, agent, admin, [201]);
    return body.id;
  }

  /** Presence login (API.md 5), by an admin, without a device. */
  async presenceLogin(admin: string, agentId: number): Promise<void> {
    await this.http.call('POST', `${API}/agents/${agentId}/login`, {}, admin, [200, 201]);
  }

  async customerSession(name: string): Promise<Session> {
    const body = await this.http.call<{ accessToken: string; customer: { id: number } }>('POST', `${API}/customers/session`, { name }, undefined, [201]);
    return { token: body.accessToken, id: body.customer.id };
  }

  startConversation(customer: string, body: { channel?: string; queueId?: number } = { channel: 'web' }): Promise<Conversation> {
    return this.http.call<Conversation>('POST', `${API}/conversations`, body, customer, [201]);
  }

  agentStatuses(admin: string): Promise<AgentStatus[]> {
    return this.http.call<AgentStatus[]>('GET', `${API}/agents/statuses`, undefined, admin, [200]);
  }

  async countConversations(admin: string, status: Conversation['status']): Promise<number> {
    const page = await this.http.call<Page<Conversation>>('GET', `${API}/conversations?status=${status}&limit=1`, undefined, admin, [200]);
    return page.meta.total;
  }

  close(): void {
    this.http.close();
  }
}

export interface AgentAccount extends Credentials {
  id: number;
}

/**
 * Creates `count` agents with the given capacity and logs each one in (presence), so that
 * conversations get allocated to them. Emails carry `tag` so that several setups never collide.
 */
export async function createLoggedInAgents(api: ContactCenterApi, admin: string, count: number, maxConcurrent: number, tag: string): Promise<AgentAccount[]> {
  const password = 'bench-agent-password';
  return mapLimit(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const email = `bench-${tag}-${i}@bench.test`;
    const id = await api.createAgent(admin, { email, password, name: `Bench agent ${tag}-${i}`, maxConcurrent });
    await api.presenceLogin(admin, id);
    return { id, email, password };
  });
}

export function createCustomers(api: ContactCenterApi, count: number, tag: string, concurrency = 16): Promise<Session[]> {
  return mapLimit(Array.from({ length: count }, (_, i) => i), concurrency, (i) => api.customerSession(`Bench customer ${tag}-${i}`));
}

export function loginAll(api: ContactCenterApi, accounts: Credentials[], concurrency = 8): Promise<Session[]> {
  return mapLimit(accounts, concurrency, (account) => api.login(account));
}

import { bearer, TestApp } from '../utils/create-test-app';

let seq = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${++seq}`;

export interface AgentHandle {
  id: number;
  email: string;
  token: string;
}

/** Small builders over the public HTTP API, so tests read as scenarios. */
export class ContactCenter {
  constructor(
    readonly t: TestApp,
    readonly admin: string,
  ) {}

  async queue(body: Record<string, unknown> = {}): Promise<{ id: number; name: string }> {
    const res = await this.t.http.post('/api/v1/queues').set(bearer(this.admin)).send({ name: `q-${unique()}`, ...body }).expect(201);
    return res.body;
  }

  /** Creates an agent (in the given queues), logs its presence in unless `login: false`, and gets its token. */
  async agent(body: Record<string, unknown> = {}, options: { login?: boolean } = {}): Promise<AgentHandle> {
    const email = `agent-${unique()}@example.com`;
    const created = await this.t.http.post('/api/v1/agents').set(bearer(this.admin)).send({ email, name: `Agent ${email}`, password: 'secret-pass', ...body }).expect(201);
    const token = (await this.t.http.post('/api/v1/auth/login').send({ email, password: 'secret-pass' }).expect(200)).body.accessToken;
    if (options.login !== false) await this.t.http.post(`/api/v1/agents/${created.body.id}/login`).set(bearer(this.admin)).send({}).expect(200);
    return { id: created.body.id, email, token };
  }

  async customer(name = `Customer ${unique()}`): Promise<{ id: number; token: string }> {
    const res = await this.t.http.post('/api/v1/customers/session').send({ name }).expect(201);
    return { id: res.body.customer.id, token: res.body.accessToken };
  }

  /** A new customer starting a conversation; answers the conversation as the API returned it. */
  async start(body: Record<string, unknown> = {}): Promise<{ conversation: any; customer: { id: number; token: string } }> {
    const customer = await this.customer();
    const res = await this.t.http.post('/api/v1/conversations').set(bearer(customer.token)).send(body).expect(201);
    return { conversation: res.body, customer };
  }

  async conversation(id: number): Promise<any> {
    return (await this.t.http.get(`/api/v1/conversations/${id}`).set(bearer(this.admin)).expect(200)).body;
  }

  async status(agentId: number): Promise<any> {
    return (await this.t.http.get(`/api/v1/agents/${agentId}/status`).set(bearer(this.admin)).expect(200)).body;
  }

  post(path: string, body: Record<string, unknown> = {}, token = this.admin) {
    return this.t.http.post(`/api/v1${path}`).set(bearer(token)).send(body);
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (bounded waits only). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last ?? new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

import { DataSource } from 'typeorm';
import { bearer, TestApp } from '../utils/create-test-app';

let seq = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${++seq}`;

export const AGENT_PASSWORD = 'agent-secret';

export interface TestAgent {
  id: number;
  email: string;
  number: string | null;
  /** The agent's own access token. */
  token: string;
  /** The agent resource as POST /agents answered it. */
  body: any;
}

/** A fresh unique agent body for POST /agents. */
export function agentBody(overrides: Record<string, unknown> = {}): Record<string, any> {
  const id = unique();
  return { email: `agent-${id}@example.com`, name: `Agent ${id}`, password: AGENT_PASSWORD, ...overrides };
}

/** Creates an agent through the API (as `admin`) and logs it in to get its token. */
export async function createAgent(t: TestApp, admin: string, overrides: Record<string, unknown> = {}): Promise<TestAgent> {
  const body = agentBody(overrides);
  const res = await t.http.post('/api/v1/agents').set(bearer(admin)).send(body).expect(201);
  const login = await t.http.post('/api/v1/auth/login').send({ email: body.email, password: body.password }).expect(200);
  return { id: res.body.id, email: res.body.email, number: res.body.number, token: login.body.accessToken, body: res.body };
}

/** A unique digit string for `number`. */
export function agentNumber(): string {
  return `${Date.now() % 1e9}${++seq}`.padStart(6, '0');
}

/** Inserts a customer and a conversation of `agentId` directly in the database (the conversation API is not needed). */
export async function insertConversation(t: TestApp, agentId: number | null, status: 'queued' | 'active' | 'resolved'): Promise<number> {
  const db = t.app.get(DataSource);
  const [customer]: { id: number }[] = await db.query(`INSERT INTO customers (name) VALUES ('Seeded') RETURNING id`);
  const [queue]: { id: number }[] = await db.query(`SELECT id FROM queues WHERE name = 'default'`);
  const [row]: { id: number }[] = await db.query(
    `INSERT INTO conversations (customer_id, agent_id, queue_id, status, assigned_at, resolved_at)
     VALUES ($1, $2::int, $3, $4::varchar, CASE WHEN $2::int IS NULL THEN NULL ELSE now() END, CASE WHEN $4::varchar = 'resolved' THEN now() END) RETURNING id`,
    [customer.id, status === 'queued' ? null : agentId, queue.id, status],
  );
  return row.id;
}

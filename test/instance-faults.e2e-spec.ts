import { Client } from 'pg';
import request from 'supertest';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { AppProcess } from './utils/app-process';
import { createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { createTestDatabase, dropTestDatabase, serverUrl } from './utils/test-db';
import { Ack, closeAll, connect, WsClient } from './utils/ws-client';

const SWEEP_MS = 1000;

/** A ContactCenter over a child process (only `http` and `url` are used). */
async function centerOf(app: AppProcess): Promise<ContactCenter> {
  const t = { http: request(app.url), url: app.url } as unknown as TestApp;
  return new ContactCenter(t, await loginAdmin(t));
}

async function storedTexts(databaseUrl: string, conversationId: number): Promise<string[]> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query('SELECT text FROM messages WHERE conversation_id = $1', [conversationId])).rows.map((r) => r.text);
  } finally {
    await db.end();
  }
}

/** Fires `count` sends at once and collects every outcome (an ack, or none because the socket went away). */
function burst(client: WsClient, conversationId: number, count: number, tag: string): Promise<{ text: string; ack: Ack | null }[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const text = `${tag} ${i}`;
      const ack = await client.request('message.send', { conversationId, text, clientMessageId: `${tag}-${i}` }).catch(() => null);
      return { text, ack };
    }),
  );
}

// API.md section 10 "An instance dies" and graceful shutdown, with the server as a child process.
(serverUrl() ? describe : describe.skip)('Instance faults (e2e)', () => {
  let databaseUrl: string;
  const open: WsClient[] = [];
  const children: AppProcess[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(async () => {
    closeAll(open);
    for (const c of children) await c.stop();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('SIGTERM mid-burst: accepted messages are written, sockets are closed, the process exits 0 within 10 s', async () => {
    const app = await AppProcess.start({ databaseUrl, env: { ALLOCATION_SWEEP_MS: String(SWEEP_MS), LOG_LEVEL: 'info' } });
    children.push(app);
    const cc = await centerOf(app);
    const queue = await cc.queue();
    await cc.agent({ queueIds: [queue.id], maxConcurrent: 3 });
    const { conversation, customer } = await cc.start({ queueId: queue.id });
    const { client } = await connect(app.url, '/customer', customer.token);
    open.push(client);
    const disconnected = client.disconnected(15_000);

    const sends = burst(client, conversation.id, 300, 'term');
    await new Promise((r) => setTimeout(r, 30));
    const stoppedAt = Date.now();
    const exit = app.signal('SIGTERM', 12_000);
    const outcomes = await sends;
    expect(await exit).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_500);
    expect(await disconnected).toBe('io server disconnect');
    expect(app.log).toMatch(/closed 1 sockets, the HTTP server/);

    const acked = outcomes.filter((o) => o.ack?.ok).map((o) => o.text);
    expect(acked.length).toBeGreaterThan(0);
    const stored = await storedTexts(databaseUrl, conversation.id);
    for (const text of acked) expect(stored).toContain(text);
  });

  it('SIGKILL mid-burst: nothing acknowledged is lost, every started conversation is active or waiting on the survivor, no agent over capacity', async () => {
    const doomed = await AppProcess.start({ databaseUrl, env: { ALLOCATION_SWEEP_MS: String(SWEEP_MS) } });
    children.push(doomed);
    const survivor = await createTestApp({ databaseUrl, keepDatabase: true, env: { ALLOCATION_SWEEP_MS: String(SWEEP_MS) } });
    try {
      const cc = await centerOf(doomed);
      const queue = await cc.queue();
      const agents = await Promise.all([1, 2].map(() => cc.agent({ queueIds: [queue.id], maxConcurrent: 2 })));
      const { conversation, customer } = await cc.start({ queueId: queue.id });
      const { client } = await connect(doomed.url, '/customer', customer.token);
      open.push(client);

      const customers = await Promise.all(Array.from({ length: 8 }, () => cc.customer()));
      const starts = customers.map((c) =>
        request(doomed.url).post('/api/v1/conversations').set('Authorization', `Bearer ${c.token}`).send({ queueId: queue.id }).then(
          (r) => r,
          () => null,
        ),
      );
      const sends = burst(client, conversation.id, 300, 'kill');
      await new Promise((r) => setTimeout(r, 30));
      await doomed.kill('SIGKILL');
      const [outcomes, started] = await Promise.all([sends, Promise.all(starts)]);

      const acked = outcomes.filter((o) => o.ack?.ok).map((o) => o.text);
      const stored = await storedTexts(databaseUrl, conversation.id);
      for (const text of acked) expect(stored).toContain(text);

      // The customer reconnects to the survivor and gets ready.
      const { ready } = await connect(survivor.url, '/customer', customer.token);
      expect(ready.conversations.map((c: { id: number }) => c.id)).toContain(conversation.id);

      const survivorCc = new ContactCenter(survivor, await loginAdmin(survivor));
      const answered = started.filter((r) => r && r.status === 201).map((r) => r!.body.id as number);
      await eventually(async () => {
        for (const id of answered) {
          const c = await survivorCc.conversation(id);
          if (c.status !== 'active' && !(c.status === 'queued' && c.position >= 1)) return false;
        }
        return true;
      }, SWEEP_MS + 2000 + 3000);
      for (const agent of agents) {
        const status = await survivorCc.status(agent.id);
        expect(status.activeConversations).toBeLessThanOrEqual(2);
      }
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const over = await db.query(
          `SELECT agent_id, count(*)::int AS n FROM conversations WHERE status = 'active' AND agent_id IS NOT NULL GROUP BY agent_id HAVING count(*) > 2`,
        );
        expect(over.rows).toEqual([]);
      } finally {
        await db.end();
      }
    } finally {
      await survivor.close();
    }
  });
});

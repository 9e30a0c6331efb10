import { ContactCenter } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { sleep, waitUntil } from './utils/free-port';
import { TcpProxy } from './utils/tcp-proxy';
import { createTestDatabase, dropTestDatabase, serverUrl } from './utils/test-db';
import { closeAll, connect, connectError, WsClient } from './utils/ws-client';

const DB_TIMEOUT_MS = 1000;
const MAX_PENDING_WRITES = 20;

// API.md section 10 "Database unreachable or slow" and "Backpressure", with a real TCP proxy
// between the app and PostgreSQL that refuses or stalls.
(serverUrl() ? describe : describe.skip)('Database faults (e2e)', () => {
  let databaseUrl: string;
  let proxy: TcpProxy;
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    const proxied = await TcpProxy.forUrl(databaseUrl);
    proxy = proxied.proxy;
    t = await createTestApp({ databaseUrl: proxied.url, env: { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS), MAX_PENDING_WRITES: String(MAX_PENDING_WRITES) } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    closeAll(open);
    proxy?.pass();
    await t?.close();
    await proxy?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });
  afterEach(() => proxy.pass());

  const health = () => t.http.get('/api/v1/health');

  async function activeConversation() {
    const queue = await cc.queue();
    const agent = await cc.agent({ queueIds: [queue.id], maxConcurrent: 5 });
    const { conversation, customer } = await cc.start({ queueId: queue.id });
    return { conversation, customer, agent };
  }

  it('refused: health 503 db down, a valid token gets 503 (never 401) on HTTP, socket acks and handshakes; all back without a restart', async () => {
    const { conversation, customer } = await activeConversation();
    const { client } = await connect(t.url, '/customer', customer.token);
    open.push(client);
    expect((await health()).body).toMatchObject({ status: 'ok', db: 'up' });

    proxy.refuse();
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'error', db: 'down' });
    expect((await t.http.get('/api/v1/health/live')).status).toBe(200);
    expect((await t.http.get('/api/v1/health/ready')).status).toBe(503);

    const me = await t.http.get('/api/v1/agents?limit=1').set(bearer(cc.admin));
    expect(me.status).toBe(503);
    expect(me.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Database unavailable' });
    const send = await t.http.post(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(customer.token)).send({ text: 'while down' });
    expect(send.status).toBe(503);
    const ack = await client.request('message.send', { conversationId: conversation.id, text: 'socket while down' });
    expect(ack).toMatchObject({ ok: false, error: { statusCode: 503 } });
    expect(await connectError(t.url, '/customer', customer.token)).toBe('unavailable');

    proxy.pass();
    const backWithin = Date.now();
    await waitUntil('health 200 after the database is back', async () => (await health()).status === 200, 5000);
    expect(Date.now() - backWithin).toBeLessThan(5000);
    expect((await t.http.get('/api/v1/agents?limit=1').set(bearer(cc.admin))).status).toBe(200);
    const after = await client.ok('message.send', { conversationId: conversation.id, text: 'after' });
    expect(after.text).toBe('after');
  });

  it(`stalled: answers 503 within DB_TIMEOUT_MS, holds at most MAX_PENDING_WRITES sends, and loses nothing it acknowledged`, async () => {
    const { conversation, customer } = await activeConversation();
    const { client } = await connect(t.url, '/customer', customer.token);
    open.push(client);

    proxy.stall();
    const started = Date.now();
    const slow = await t.http.get('/api/v1/agents?limit=1').set(bearer(cc.admin));
    expect(slow.status).toBe(503);
    // Bounded by the timeouts (acquire or statement plus the read timeout), not by the stall.
    expect(Date.now() - started).toBeLessThan(DB_TIMEOUT_MS * 3 + 2000);

    // More sends than an instance may hold: the excess is refused at once with 503.
    const acks = await Promise.all(
      Array.from({ length: MAX_PENDING_WRITES * 3 }, (_, i) => client.request('message.send', { conversationId: conversation.id, text: `stalled ${i}`, clientMessageId: `s-${i}` })),
    );
    const codes = acks.map((a) => (a.ok ? 200 : a.error.statusCode));
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThanOrEqual(MAX_PENDING_WRITES * 2);

    proxy.pass();
    await waitUntil('health 200 after the stall', async () => (await health()).status === 200, 5000);
    await sleep(200);
    // Every acknowledged message is stored; a retry of any refused one with its clientMessageId is safe.
    const retried = [];
    for (const [i, a] of acks.entries()) {
      if (!a.ok) retried.push(await client.request('message.send', { conversationId: conversation.id, text: `stalled ${i}`, clientMessageId: `s-${i}` }));
    }
    expect(retried.filter((r) => r && !r.ok)).toEqual([]);
    const stored = (await t.http.get(`/api/v1/conversations/${conversation.id}/messages?limit=100`).set(bearer(cc.admin)).expect(200)).body.data as { text: string }[];
    const texts = stored.map((m) => m.text);
    for (const [i, a] of acks.entries()) if (a.ok) expect(texts).toContain(`stalled ${i}`);
    expect(new Set(texts).size).toBe(texts.length);
    expect(texts.length).toBe(MAX_PENDING_WRITES * 3);
  });
});

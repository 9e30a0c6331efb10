import { decode, sign } from 'jsonwebtoken';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { sleep } from './utils/free-port';
import { RedisServer, redisServerAvailable } from './utils/redis-server';
import { serverUrl } from './utils/test-db';
import { RedisClients } from '../apps/contact-center/src/platform/redis-clients';
import { SocketHub } from '../apps/contact-center/src/realtime/server-events';
import { SocketSessions } from '../apps/contact-center/src/realtime/socket-sessions';
import { DataSource } from 'typeorm';
import { closeAll, connect, WsClient } from './utils/ws-client';

const TEST_SECRET = 'test-secret-0123456789abcdef'; // createTestApp's JWT_SECRET

/** The same token with a short life: what a client holding a nearly expired token has. */
function expiringIn(token: string, seconds: number): string {
  const { sub, role, tv } = decode(token) as unknown as { sub: number; role: string; tv: number };
  return sign({ sub, role, tv }, TEST_SECRET, { expiresIn: seconds });
}

// API.md section 10 "Tokens on open sockets".
describe('Tokens on open sockets (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    closeAll(open);
    await t?.close();
  });

  it('disconnects a socket within 5 s after its token expires, and it cannot send after', async () => {
    const { conversation, customer } = await cc.start();
    const { client } = await connect(t.url, '/customer', expiringIn(customer.token, 2));
    open.push(client);
    const sent = await client.ok('message.send', { conversationId: conversation.id, text: 'before expiry' });
    expect(sent.text).toBe('before expiry');
    const startedAt = Date.now();
    await client.disconnected(2000 + 5000 + 2000);
    expect(Date.now() - startedAt).toBeLessThan(2000 + 5000 + 1000);
    expect(client.socket.connected).toBe(false);
  });

  it('disconnects a socket whose user logged out with another token', async () => {
    const agent = await cc.agent();
    const { client } = await connect(t.url, '/agent', agent.token);
    open.push(client);
    // Revoked by a logout with another token of the same agent: the socket's token is now stale.
    const other = (await t.http.post('/api/v1/auth/login').send({ email: agent.email, password: 'secret-pass' }).expect(200)).body.accessToken;
    await t.http.post('/api/v1/auth/logout').set(bearer(other)).expect((r) => expect(r.status).toBeLessThan(300));
    await client.disconnected(7000);
  });

  it('judges the sockets slice by slice and cuts the revoked ones in every slice', async () => {
    const sessions = t.app.get(SocketSessions);
    await sessions.onModuleDestroy(); // only the checks below run
    try {
      const agents = await Promise.all(Array.from({ length: 5 }, () => cc.agent()));
      const clients = await Promise.all(agents.map(async (a) => (await connect(t.url, '/agent', a.token)).client));
      open.push(...clients);
      // Revoked behind the sockets' backs (no logout push): only the re-check can find it.
      const revoked = [agents[0].id, agents[4].id];
      await t.app.get(DataSource).query(`UPDATE agents SET token_version = token_version + 1 WHERE id = ANY($1::int[])`, [revoked]);
      const serverSocket = (id: number) => t.app.get(SocketHub).localSockets().find((s) => s.data.user.role === 'agent' && s.data.user.id === id);
      await eventually(async () => {
        await sessions.check(Date.now(), 2);
        expect(revoked.map((id) => serverSocket(id)?.connected ?? false)).toEqual([false, false]);
        return true;
      });
      expect(agents.slice(1, 4).map((a) => serverSocket(a.id)?.connected)).toEqual([true, true, true]);
      await Promise.all([clients[0].disconnected(), clients[4].disconnected()]);
    } finally {
      sessions.onApplicationBootstrap();
    }
  });
});

// Two instances on one database and a private Redis that the test kills and restarts.
(serverUrl() && redisServerAvailable() ? describe : describe.skip)('Redis outage with two instances (e2e)', () => {
  let redis: RedisServer;
  let a: TestApp;
  let b: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    a = await createTestApp({ env: { REDIS_URL: redis.url } });
    b = await createTestApp({ env: { REDIS_URL: redis.url }, databaseUrl: a.databaseUrl!, keepDatabase: true });
    cc = new ContactCenter(a, await loginAdmin(a));
  });
  afterAll(async () => {
    closeAll(open);
    await b?.close();
    await a?.close();
    await redis?.stop();
  });

  it('keeps serving while Redis is down (health degraded), cuts a revoked socket on the other instance, and sends a fresh ready when Redis is back', async () => {
    const queue = await cc.queue();
    const agent = await cc.agent({ queueIds: [queue.id] });
    const { conversation, customer } = await cc.start({ queueId: queue.id });
    const { client: customerOnA } = await connect(a.url, '/customer', customer.token);
    const { client: agentOnB } = await connect(b.url, '/agent', agent.token);
    const revocable = await cc.agent();
    const { client: revokedOnB } = await connect(b.url, '/agent', revocable.token);
    open.push(customerOnA, agentOnB, revokedOnB);

    await redis.kill();
    await eventually(async () => (await a.http.get('/api/v1/health')).body.redis === 'down', 5000);
    const health = await a.http.get('/api/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'degraded', db: 'up', redis: 'down' });
    expect((await a.http.get('/api/v1/health/ready')).status).toBe(200);

    // The instance keeps serving its own sockets; the message is stored.
    const during = await customerOnA.ok('message.send', { conversationId: conversation.id, text: 'during the outage' });
    // Its cross-instance publish failed at once instead of waiting in an unbounded offline queue.
    await eventually(async () => a.app.get(RedisClients).dropped > 0, 2000);
    // Logged out on A while Redis is down: the socket on B is still cut (token-version re-check).
    await a.http.post('/api/v1/auth/logout').set(bearer(revocable.token)).expect((r) => expect(r.status).toBeLessThan(300));
    await revokedOnB.disconnected(7000);

    const readyBefore = { customer: customerOnA.all('ready').length, agent: agentOnB.all('ready').length };
    await redis.restart();
    await eventually(async () => customerOnA.all('ready').length > readyBefore.customer && agentOnB.all('ready').length > readyBefore.agent, 10_000);
    // The fresh ready lets the agent re-sync what it missed.
    const missed = await agentOnB.ok('messages.sync', { conversationId: conversation.id, afterId: 0 });
    expect((missed.messages ?? missed).map((m: { id: number }) => m.id)).toContain(during.id);
    // And events flow between the instances again.
    await sleep(200);
    const after = await customerOnA.ok('message.send', { conversationId: conversation.id, text: 'after the outage' });
    await agentOnB.waitFor('message.new', (e) => e.message.id === after.id, 10_000);
    expect((await a.http.get('/api/v1/health')).body).toEqual({ status: 'ok', db: 'up', redis: 'up' });
  });
});

import { TokenVersionCache } from '@cc/auth';
import { eventually } from './factories/contact-center.factory';
import { AGENT_PASSWORD, createAgent } from './factories/agent.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { TcpProxy } from './utils/tcp-proxy';
import { serverUrl } from './utils/test-db';

const API = '/api/v1';

// API.md section 10: a revoked token is refused on every instance at once. Each instance caches
// token versions; a NOTIFY in the revoking transaction drops the entry on every instance.
(serverUrl() ? describe : describe.skip)('Token-version cache across instances (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let listenProxy: { proxy: TcpProxy; url: string };
  let cacheOfB: TokenVersionCache;

  beforeAll(async () => {
    a = await createTestApp();
    listenProxy = await TcpProxy.forUrl(a.databaseUrl!);
    // B's pool goes straight to PostgreSQL; only its listener connection passes the proxy.
    b = await createTestApp({ databaseUrl: a.databaseUrl!, keepDatabase: true, env: { DATABASE_LISTEN_URL: listenProxy.url } });
    cacheOfB = b.app.get(TokenVersionCache);
    admin = await loginAdmin(a);
    await eventually(async () => cacheOfB.active && a.app.get(TokenVersionCache).active);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await listenProxy?.proxy.close();
  });

  /** GET /agents/me on B, twice, so that the second answer comes from B's cache. */
  const warm = async (token: string) => {
    await b.http.get(`${API}/agents/me`).set(bearer(token)).expect(200);
    const hits = cacheOfB.counts.hits;
    await b.http.get(`${API}/agents/me`).set(bearer(token)).expect(200);
    expect(cacheOfB.counts.hits).toBe(hits + 1);
  };

  it('a logout on A: the next request with the old token on B is 401, a new token works', async () => {
    const agent = await createAgent(a, admin);
    await warm(agent.token);
    await a.http.post(`${API}/auth/logout`).set(bearer(agent.token)).expect(204);
    await b.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(401);
    const fresh = (await a.http.post(`${API}/auth/login`).send({ email: agent.email, password: AGENT_PASSWORD }).expect(200)).body.accessToken;
    await warm(fresh);
  });

  it('a password change on A: the old token is 401 on B at once', async () => {
    const agent = await createAgent(a, admin);
    await warm(agent.token);
    await a.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ password: 'another-secret' }).expect(200);
    await b.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(401);
  });

  it('an agent deleted on A: its token is 401 on B at once', async () => {
    const agent = await createAgent(a, admin);
    await warm(agent.token);
    await a.http.delete(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(204);
    await b.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(401);
  });

  it('the misses of checks that arrive together are read together, on the listener round trip they wait for', async () => {
    const sessions: { id: number }[] = [];
    for (let i = 0; i < 8; i++) sessions.push((await a.http.post(`${API}/customers/session`).send({ name: `Together ${i}` }).expect(201)).body.customer);
    const ids = [...sessions.map((c) => c.id), 2_000_001];
    const pooled: number[][] = [];
    const load = async (missing: number[]) => {
      pooled.push(missing);
      return new Map<number, number>();
    };
    const reads = cacheOfB.counts.reads;
    const answers = await Promise.all(ids.map((id) => cacheOfB.versions('customer', [id], load)));
    // New sessions have version 0; an id nobody has is no user.
    expect(answers.map((m, i) => m.get(ids[i]))).toEqual([...sessions.map(() => 0), null]);
    // Checks of one turn of the event loop share one round trip (two if a heartbeat was in flight).
    expect(cacheOfB.counts.reads - reads).toBeLessThanOrEqual(2);
    expect(pooled).toEqual([]);
    // Read once, then answered from the cache.
    const hits = cacheOfB.counts.hits;
    await cacheOfB.versions('customer', [ids[0]], load);
    expect(cacheOfB.counts.hits).toBe(hits + 1);
  });

  it('new sessions asking B at once: each is answered by its own token version, a revoked one refused', async () => {
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push((await a.http.post(`${API}/customers/session`).send({ name: `Burst ${i}` }).expect(201)).body.accessToken as string);
    await a.http.post(`${API}/auth/logout`).set(bearer(sessions[2])).expect(204);
    const statuses = await Promise.all(sessions.map(async (token) => (await b.http.get(`${API}/auth/me`).set(bearer(token))).status));
    expect(statuses).toEqual([200, 200, 401, 200, 200, 200]);
  });

  it("with B's listener cut, a logout on A is still 401 on B (B reads the database until it listens again)", async () => {
    const agent = await createAgent(a, admin);
    const other = await createAgent(a, admin);
    await warm(agent.token);
    await warm(other.token);
    listenProxy.proxy.refuse();
    await eventually(async () => !cacheOfB.active);
    await a.http.post(`${API}/auth/logout`).set(bearer(agent.token)).expect(204); // B cannot hear this one
    await b.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(401);
    await b.http.get(`${API}/agents/me`).set(bearer(other.token)).expect(200);

    listenProxy.proxy.pass();
    await eventually(async () => cacheOfB.active, 10_000);
    await b.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(401);
    await warm(other.token);
    await a.http.post(`${API}/auth/logout`).set(bearer(other.token)).expect(204);
    await b.http.get(`${API}/agents/me`).set(bearer(other.token)).expect(401);
  });
});

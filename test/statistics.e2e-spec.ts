import { DataSource } from 'typeorm';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { connect, WsClient } from './utils/ws-client';
import { describeWith } from './utils/requires';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const api = '/api/v1';

describe('Statistics and reports (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  let db: DataSource;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  const get = (path: string, token = cc.admin) => t.http.get(`${api}${path}`).set(bearer(token));
  const queueStats = async (queueId: number) => (await get('/stats/queues').expect(200)).body.find((q: any) => q.queueId === queueId);

  it('live queue and agent counts move with each change; waiting customers get an estimate beside their position', async () => {
    const queue = await cc.queue({ slaSeconds: 30 });
    expect(queue).toMatchObject({ slaSeconds: 30 });
    const agent = await cc.agent({ queueIds: [queue.id], maxConcurrent: 1 });
    expect(await queueStats(queue.id)).toMatchObject({
      name: queue.name,
      waiting: 0,
      offered: 0,
      active: 0,
      oldestWaitingSince: null,
      longestWaitSeconds: 0,
      estimatedWaitSeconds: null,
      agents: { offline: 0, available: 1, busy: 0, paused: 0, wrapUp: 0 },
    });

    const first = await cc.start({ queueId: queue.id });
    expect(first.conversation.status).toBe('active');
    expect(await queueStats(queue.id)).toMatchObject({ waiting: 0, active: 1, agents: { available: 0, busy: 1 } });
    const agentRow = (await get('/stats/agents').expect(200)).body.find((a: any) => a.agentId === agent.id);
    expect(agentRow).toMatchObject({ state: 'busy', activeConversations: 1, activeByChannel: { web: 1 } });
    expect(Date.parse(agentRow.stateSince)).toBeGreaterThan(Date.now() - 60_000);

    // One assignment in the last 15 minutes, one logged-in member: the line moves one place per 900 s.
    const customer = await cc.customer();
    const { client } = await connect(t.url, '/customer', customer.token);
    open.push(client);
    const second = (await t.http.post(`${api}/conversations`).set(bearer(customer.token)).send({ queueId: queue.id }).expect(201)).body;
    expect(second).toMatchObject({ status: 'queued', position: 1, estimatedWaitSeconds: 900 });
    const pushed = await client.waitFor('conversation.queued', (e) => e.conversation.id === second.id);
    expect(pushed.conversation).toMatchObject({ position: 1, estimatedWaitSeconds: 900 });
    expect((await cc.conversation(second.id)).estimatedWaitSeconds).toBe(900);
    const waiting = await queueStats(queue.id);
    expect(waiting).toMatchObject({ waiting: 1, active: 1, estimatedWaitSeconds: 1800 });
    expect(waiting.oldestWaitingSince).not.toBeNull();

    await sleep(1100);
    expect((await queueStats(queue.id)).longestWaitSeconds).toBeGreaterThanOrEqual(1);

    await cc.post(`/conversations/${first.conversation.id}/resolve`).expect(200);
    await eventually(async () => (await cc.conversation(second.id)).status === 'active');
    const after = await queueStats(queue.id);
    expect(after).toMatchObject({ waiting: 0, active: 1, oldestWaitingSince: null, longestWaitSeconds: 0 });
    // The active conversation's view carries no position and no estimate.
    expect((await cc.conversation(second.id)).estimatedWaitSeconds).toBeUndefined();
  });

  it('has no estimate without a basis (nothing assigned lately, nobody logged in)', async () => {
    const queue = await cc.queue();
    await cc.agent({ queueIds: [queue.id] }, { login: false });
    const { conversation } = await cc.start({ queueId: queue.id });
    expect(conversation).toMatchObject({ status: 'queued', position: 1, estimatedWaitSeconds: null });
    expect(await queueStats(queue.id)).toMatchObject({ waiting: 1, estimatedWaitSeconds: null, agents: { offline: 1 } });
  });

  it('pushes stats.queues to admins at most once per second, only on change', async () => {
    const queue = await cc.queue();
    const { client: admin } = await connect(t.url, '/agent', cc.admin);
    open.push(admin);
    await sleep(1500); // the first round sets the baseline
    const before = admin.all('stats.queues').length;
    await sleep(1500);
    expect(admin.all('stats.queues').length).toBe(before); // nothing changed, nothing pushed

    const arrivals: number[] = [];
    admin.socket.on('stats.queues', () => arrivals.push(Date.now()));
    const stream = Date.now();
    while (Date.now() - stream < 3000) {
      await cc.start({ queueId: queue.id });
      await sleep(100);
    }
    await eventually(async () => {
      const last = admin.all('stats.queues').at(-1);
      return last?.find((q: any) => q.queueId === queue.id)?.waiting === (await queueStats(queue.id)).waiting;
    }, 5000);
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    expect(arrivals.length).toBeLessThanOrEqual(8);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i] - arrivals[i - 1]).toBeGreaterThanOrEqual(750); // one per second at the server; some slack for delivery jitter
    const last = admin.all('stats.queues').at(-1).find((q: any) => q.queueId === queue.id);
    expect(last).toMatchObject({ name: queue.name, offered: 0, active: 0, agents: { offline: 0, available: 0, busy: 0, paused: 0, wrapUp: 0 } });
  });

  describe('reports over a known history', () => {
    let queueId: number;
    let agentId: number;
    let otherAgentId: number;

    /** A conversation with the given times (ISO), straight into the tables. */
    async function seed(createdAt: string, opts: { assignAfter?: number; respondAfter?: number; resolveAfter?: number; resolvedAt?: string; agentId?: number } = {}) {
      const [customer]: { id: number }[] = await db.query(`INSERT INTO customers (name) VALUES ('Seeded') RETURNING id`);
      const created = Date.parse(createdAt);
      const assigned = opts.assignAfter === undefined ? null : new Date(created + opts.assignAfter * 1000);
      const responded = assigned && opts.respondAfter !== undefined ? new Date(assigned.getTime() + opts.respondAfter * 1000) : null;
      const resolved = opts.resolvedAt ? new Date(opts.resolvedAt) : assigned && opts.resolveAfter !== undefined ? new Date(assigned.getTime() + opts.resolveAfter * 1000) : null;
      const agent = assigned ? (opts.agentId ?? agentId) : null;
      const [row]: { id: number }[] = await db.query(
        `INSERT INTO conversations (customer_id, agent_id, queue_id, status, created_at, waiting_since, assigned_at, first_assigned_at, first_response_at, first_response_agent_id, resolved_at, resolved_by)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $6, $7, $8, $9, CASE WHEN $9::timestamptz IS NULL THEN NULL ELSE 'agent' END) RETURNING id`,
        [customer.id, agent, queueId, resolved ? 'resolved' : 'active', new Date(created), assigned, responded, responded ? agent : null, resolved],
      );
      return row.id;
    }

    beforeAll(async () => {
      queueId = (await cc.queue({ slaSeconds: 30 })).id;
      agentId = (await cc.agent({ queueIds: [queueId], maxConcurrent: 5 }, { login: false })).id;
      otherAgentId = (await cc.agent({ queueIds: [queueId] }, { login: false })).id;
      await seed('2025-03-10T10:05:00Z', { assignAfter: 20, respondAfter: 30, resolveAfter: 300 });
      const c2 = await seed('2025-03-10T10:40:00Z', { assignAfter: 50, resolveAfter: 600 });
      await seed('2025-03-10T11:10:00Z', { resolvedAt: '2025-03-10T11:12:00Z' }); // abandoned
      await seed('2025-03-10T23:30:00Z', { assignAfter: 10, agentId: otherAgentId });
      await seed('2025-03-12T08:00:00Z', { assignAfter: 5 }); // outside the range
      await db.query(
        `INSERT INTO conversation_transfers (conversation_id, at, from_agent_id, to_agent_id, from_queue_id, to_queue_id) VALUES ($1, '2025-03-10T10:45:00Z', $2, $3, $4, $4)`,
        [c2, otherAgentId, agentId, queueId],
      );
      // Agent history: offline until 01:00, available until 02:30, busy until 03:00, paused until 04:00, then offline.
      for (const [at, from, to] of [
        ['2025-03-10T01:00:00Z', 'offline', 'available'],
        ['2025-03-10T02:30:00Z', 'available', 'busy'],
        ['2025-03-10T03:00:00Z', 'busy', 'paused'],
        ['2025-03-10T04:00:00Z', 'paused', 'offline'],
      ]) {
        await db.query(`INSERT INTO agent_state_history (agent_id, from_state, to_state, reason, at) VALUES ($1, $2, $3, 'seed', $4)`, [agentId, from, to, at]);
      }
    });

    const report = (query: string, accept = 'application/json') =>
      t.http.get(`${api}/reports/conversations?from=2025-03-10T00:00:00Z&to=2025-03-12T00:00:00Z&queueId=${queueId}&${query}`).set(bearer(cc.admin)).set('Accept', accept);

    const expectedTotal = {
      started: 4,
      assigned: 3,
      resolved: 3,
      abandoned: 1,
      transferred: 1,
      avgWaitSeconds: 26.667,
      maxWaitSeconds: 50,
      avgHandleSeconds: 450,
      avgFirstResponseSeconds: 30,
      serviceLevel: 0.5,
    };

    it('gives exact counts and averages; the total is the sum of the buckets; hour and day agree', async () => {
      const day = (await report('interval=day').expect(200)).body;
      expect(day.total).toEqual(expectedTotal);
      expect(day.buckets.map((b: any) => b.start)).toEqual(['2025-03-10T00:00:00.000Z', '2025-03-11T00:00:00.000Z']);
      expect(day.buckets[0]).toEqual({ start: '2025-03-10T00:00:00.000Z', ...expectedTotal });
      expect(day.buckets[1]).toMatchObject({ started: 0, assigned: 0, avgWaitSeconds: null, serviceLevel: null });

      const hour = (await report('interval=hour').expect(200)).body;
      expect(hour.buckets).toHaveLength(48);
      expect(hour.total).toEqual(expectedTotal);
      for (const key of ['started', 'assigned', 'resolved', 'abandoned', 'transferred'] as const) {
        expect(hour.buckets.reduce((s: number, b: any) => s + b[key], 0)).toBe(hour.total[key]);
      }
      const ten = hour.buckets.find((b: any) => b.start === '2025-03-10T10:00:00.000Z');
      expect(ten).toMatchObject({ started: 2, assigned: 2, resolved: 2, abandoned: 0, transferred: 1, avgWaitSeconds: 35, maxWaitSeconds: 50, avgHandleSeconds: 450, serviceLevel: 0.5 });
      const eleven = hour.buckets.find((b: any) => b.start === '2025-03-10T11:00:00.000Z');
      expect(eleven).toMatchObject({ started: 1, assigned: 0, resolved: 1, abandoned: 1, serviceLevel: 0 });
    });

    it('moves bucket boundaries with a time zone, not the totals', async () => {
      const tokyo = (await report('interval=day&tz=Asia/Tokyo').expect(200)).body;
      expect(tokyo.total).toEqual(expectedTotal);
      const starts = tokyo.buckets.map((b: any) => b.start);
      expect(starts).toContain('2025-03-09T15:00:00.000Z');
      expect(tokyo.buckets.find((b: any) => b.start === '2025-03-09T15:00:00.000Z')).toMatchObject({ started: 3 });
      expect(tokyo.buckets.find((b: any) => b.start === '2025-03-10T15:00:00.000Z')).toMatchObject({ started: 1, assigned: 1 });
      const india = (await report('interval=hour&tz=Asia/Kolkata').expect(200)).body;
      expect(india.total).toEqual(expectedTotal);
      expect(india.buckets[0].start).toBe('2025-03-09T23:30:00.000Z');
    });

    it('answers CSV with a header row when asked', async () => {
      const res = await report('interval=day', 'text/csv').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const lines = res.text.trim().split(/\r\n/);
      expect(lines[0]).toBe('start,started,assigned,resolved,abandoned,transferred,avgWaitSeconds,maxWaitSeconds,avgHandleSeconds,avgFirstResponseSeconds,serviceLevel');
      expect(lines).toHaveLength(3);
      expect(lines[1]).toBe('2025-03-10T00:00:00.000Z,4,3,3,1,1,26.667,50,450,30,0.5');
      expect(lines[2]).toBe('2025-03-11T00:00:00.000Z,0,0,0,0,0,,,,,');
    });

    it('reports agents: time in each state clipped to the range and adding up, with counts', async () => {
      const res = await get('/reports/agents?from=2025-03-10T02:00:00Z&to=2025-03-10T12:00:00Z').expect(200);
      const me = res.body.find((a: any) => a.agentId === agentId);
      expect(me.secondsByState).toEqual({ offline: 8 * 3600, available: 1800, busy: 1800, paused: 3600, wrapUp: 0 });
      expect(Object.values(me.secondsByState).reduce((s: number, v: any) => s + v, 0)).toBe(10 * 3600);
      expect(me).toMatchObject({ resolved: 2, transferredOut: 0, missedOffers: 0, avgHandleSeconds: 450, avgFirstResponseSeconds: 30 });
      const other = res.body.find((a: any) => a.agentId === otherAgentId);
      expect(other).toMatchObject({ transferredOut: 1, resolved: 0, avgHandleSeconds: null, secondsByState: { offline: 36000 } });
    });

    it('refuses bad ranges, zones, intervals and roles', async () => {
      const agent = await cc.agent({}, { login: false });
      const base = '/reports/conversations';
      await get(`${base}?from=2025-03-10T00:00:00Z&to=2025-03-09T00:00:00Z`).expect(400);
      await get(`${base}?from=2024-01-01T00:00:00Z&to=2025-03-09T00:00:00Z`).expect(400);
      await get(`${base}?from=yesterday&to=2025-03-09T00:00:00Z`).expect(400);
      await get(`${base}?to=2025-03-09T00:00:00Z`).expect(400);
      const tz = await get(`${base}?from=2025-03-08T00:00:00Z&to=2025-03-09T00:00:00Z&tz=Mars/Olympus`).expect(400);
      expect(JSON.stringify(tz.body.message)).toMatch(/tz/);
      await get(`${base}?from=2025-03-08T00:00:00Z&to=2025-03-09T00:00:00Z&tz=${encodeURIComponent('+05:00')}`).expect(400);
      await get(`${base}?from=2025-03-08T00:00:00Z&to=2025-03-09T00:00:00Z&interval=week`).expect(400);
      await get(`${base}?from=2025-03-08T00:00:00Z&to=2025-03-09T00:00:00Z`, agent.token).expect(403);
      await t.http.get(`${api}${base}?from=2025-03-08T00:00:00Z&to=2025-03-09T00:00:00Z`).expect(401);
      await get('/reports/agents?from=2025-03-10T00:00:00Z&to=2025-03-10T00:00:00Z').expect(400);
      await get('/stats/queues', agent.token).expect(403);
      await get('/stats/agents', agent.token).expect(403);
      await cc.post('/queues', { name: 'bad-sla', slaSeconds: 0 }).expect(400);
    });
  });

  it('records first assignment, first response, transfer and busy time as they happen', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const queue = await cc.queue();
    const a = await cc.agent({ queueIds: [queue.id], maxConcurrent: 1 });
    const b = await cc.agent({ queueIds: [queue.id], maxConcurrent: 1 });
    const { conversation } = await cc.start({ queueId: queue.id });
    const first = conversation.agentId === a.id ? a : b;
    const second = first === a ? b : a;
    await sleep(1200);
    await cc.post(`/conversations/${conversation.id}/messages`, { text: 'hello' }, first.token).expect(201);
    await cc.post(`/conversations/${conversation.id}/transfer`, { agentId: second.id }, first.token).expect(200);
    await cc.post(`/conversations/${conversation.id}/messages`, { text: 'me too' }, second.token).expect(201);
    await cc.post(`/conversations/${conversation.id}/resolve`, {}, second.token).expect(200);
    const to = new Date(Date.now() + 500).toISOString();
    await sleep(600);

    const res = (await get(`/reports/conversations?from=${from}&to=${to}&interval=hour&queueId=${queue.id}`).expect(200)).body;
    expect(res.total).toMatchObject({ started: 1, assigned: 1, resolved: 1, abandoned: 0, transferred: 1, serviceLevel: 1 });
    expect(res.total.avgFirstResponseSeconds).toBeGreaterThanOrEqual(1);
    expect(res.total.avgHandleSeconds).toBeGreaterThanOrEqual(1);

    const agents = (await get(`/reports/agents?from=${from}&to=${to}`).expect(200)).body;
    const firstRow = agents.find((r: any) => r.agentId === first.id);
    const secondRow = agents.find((r: any) => r.agentId === second.id);
    expect(firstRow).toMatchObject({ assigned: 1, transferredOut: 1, resolved: 0 });
    expect(firstRow.secondsByState.busy).toBeGreaterThanOrEqual(1);
    expect(firstRow.avgFirstResponseSeconds).toBeGreaterThanOrEqual(1);
    expect(secondRow).toMatchObject({ assigned: 1, resolved: 1, transferredOut: 0 });
    const length = (Date.parse(to) - Date.parse(from)) / 1000;
    for (const row of [firstRow, secondRow]) {
      const total = Object.values(row.secondsByState as Record<string, number>).reduce((s, v) => s + v, 0);
      expect(Math.abs(total - length)).toBeLessThan(0.01);
    }
  });
});

// Two instances share one PostgreSQL database and Redis.
describeWith(['postgres', 'redis'], 'stats.queues with two instances (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  const open: WsClient[] = [];

  beforeAll(async () => {
    a = await createTestApp({ env: { REDIS_URL: process.env.REDIS_URL! } });
    b = await createTestApp({ env: { REDIS_URL: process.env.REDIS_URL! }, databaseUrl: a.databaseUrl!, keepDatabase: true });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await b?.close();
    await a?.close();
  });

  it('each admin gets one push per change-second, wherever the change happened', async () => {
    const cc = new ContactCenter(a, await loginAdmin(a));
    const ccB = new ContactCenter(b, await loginAdmin(b));
    const queue = await cc.queue();
    const adminA = (await connect(a.url, '/agent', cc.admin)).client;
    const adminB = (await connect(b.url, '/agent', cc.admin)).client;
    open.push(adminA, adminB);
    await sleep(1500);
    const times: Record<string, number[]> = { a: [], b: [] };
    adminA.socket.on('stats.queues', () => times.a.push(Date.now()));
    adminB.socket.on('stats.queues', () => times.b.push(Date.now()));
    const stream = Date.now();
    let n = 0;
    while (Date.now() - stream < 2500) {
      await (n++ % 2 ? cc : ccB).start({ queueId: queue.id });
      await sleep(150);
    }
    await sleep(2500);
    for (const [name, list] of Object.entries(times)) {
      expect({ name, n: list.length >= 2 }).toEqual({ name, n: true });
      for (let i = 1; i < list.length; i++) expect(list[i] - list[i - 1]).toBeGreaterThanOrEqual(750); // one per second at the server; some slack for delivery jitter
    }
    for (const admin of [adminA, adminB]) {
      expect(admin.all('stats.queues').at(-1).find((q: any) => q.queueId === queue.id)).toMatchObject({ waiting: n });
    }
  });
});

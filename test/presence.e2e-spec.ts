import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { TransactionHooks } from '@cc/common';
import { agentNumber, createAgent, insertConversation, TestAgent } from './factories/agent.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';

const API = '/api/v1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const STATUS_KEYS = ['activeByChannel', 'activeConversations', 'context', 'extension', 'id', 'logged', 'maxConcurrent', 'number', 'offeredConversations', 'pauseReason', 'paused', 'queueIds', 'state', 'wrapUpUntil'];

describe('Presence (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let db: DataSource;
  let customer: string;
  const released: { agentId: number; reason: string }[] = [];

  const post = (path: string, body: object = {}, token = admin) => t.http.post(`${API}${path}`).set(bearer(token)).send(body);
  const status = async (id: number) => (await t.http.get(`${API}/agents/${id}/status`).set(bearer(admin)).expect(200)).body;
  const history = (agentId: number) =>
    db.query(`SELECT from_state AS "from", to_state AS "to", reason FROM agent_state_history WHERE agent_id = $1 ORDER BY id`, [agentId]);
  const newAgent = (overrides: Record<string, unknown> = {}) => createAgent(t, admin, { number: agentNumber(), ...overrides });

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t);
    db = t.app.get(DataSource);
    customer = (await t.http.post(`${API}/customers/session`).send({}).expect(201)).body.accessToken;
    t.app.get(TransactionHooks).register('agent.released', async (_manager, payload) => {
      released.push(payload);
    });
  });
  afterAll(() => t.close());

  describe('login and logoff', () => {
    it('logs in by id with a device and answers the status; logging in again updates the device', async () => {
      const agent = await newAgent();
      const res = await post(`/agents/${agent.id}/login`, { extension: '1001', context: 'sales' }).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(STATUS_KEYS);
      expect(res.body).toMatchObject({ id: agent.id, number: agent.number, logged: true, extension: '1001', context: 'sales', paused: false, state: 'available', activeConversations: 0, maxConcurrent: 2 });
      const again = await post(`/agents/${agent.id}/login`, { extension: '1002' }).expect(200);
      expect(again.body).toMatchObject({ logged: true, extension: '1002', context: null });
      expect(await history(agent.id)).toEqual([
        { from: 'offline', to: 'available', reason: 'login' },
        { from: 'available', to: 'available', reason: 'device-changed' },
      ]);
    });

    it('logs off (releasing its conversations in the same transaction), then answers 409 "Agent not logged in"', async () => {
      const agent = await newAgent();
      await post(`/agents/${agent.id}/login`, { extension: '2001' }).expect(200);
      await post(`/agents/${agent.id}/pause`).expect(200);
      const off = await post(`/agents/${agent.id}/logoff`).expect(200);
      expect(off.body).toMatchObject({ logged: false, extension: null, context: null, paused: false, wrapUpUntil: null, state: 'offline' });
      expect(released).toContainEqual({ agentId: agent.id, reason: 'logoff' });
      const again = await post(`/agents/${agent.id}/logoff`).expect(409);
      expect(again.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'Agent not logged in' });
      const row = (await db.query(`SELECT socket_seen, disconnected_since, pause_reason_id, wrap_up_until FROM agent_presence WHERE agent_id = $1`, [agent.id]))[0];
      expect(row).toEqual({ socket_seen: false, disconnected_since: null, pause_reason_id: null, wrap_up_until: null });
      // The device is free for someone else.
      const other = await newAgent();
      await post(`/agents/${other.id}/login`, { extension: '2001' }).expect(200);
    });

    it('refuses a device another agent holds (409), unless forced: the holder is logged off and released first', async () => {
      const holder = await newAgent();
      const taker = await newAgent();
      await post(`/agents/${holder.id}/login`, { extension: '3001', context: 'support' }).expect(200);
      const refused = await post(`/agents/${taker.id}/login`, { extension: '3001', context: 'support' }).expect(409);
      expect(refused.body).toMatchObject({ statusCode: 409, message: 'Device in use by another agent', agentId: holder.id });
      expect((await status(taker.id)).logged).toBe(false);
      // Another context, or no context, is another device.
      await post(`/agents/${taker.id}/login`, { extension: '3001', context: 'sales' }).expect(200);
      await post(`/agents/${taker.id}/login`, { extension: '3001' }).expect(200);
      const forced = await post(`/agents/${taker.id}/login`, { extension: '3001', context: 'support', force: true }).expect(200);
      expect(forced.body).toMatchObject({ logged: true, extension: '3001', context: 'support' });
      expect(await status(holder.id)).toMatchObject({ logged: false, state: 'offline', extension: null });
      expect(released).toContainEqual({ agentId: holder.id, reason: 'logoff' });
      expect((await history(holder.id)).at(-1)).toEqual({ from: 'available', to: 'offline', reason: 'forced-logoff' });
    });

    it('gives a device to exactly one of two agents logging in on it at once', async () => {
      const a = await newAgent();
      const b = await newAgent();
      const results = await Promise.all([post(`/agents/${a.id}/login`, { extension: '4001' }), post(`/agents/${b.id}/login`, { extension: '4001' })]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    });

    it('treats an agent created without a presence row as logged off', async () => {
      const agent = await newAgent();
      await db.query(`DELETE FROM agent_presence WHERE agent_id = $1`, [agent.id]);
      expect(await status(agent.id)).toMatchObject({ logged: false, state: 'offline' });
      await post(`/agents/${agent.id}/login`).expect(200);
    });
  });

  describe('pause', () => {
    it('answers 409 when not logged in, for pause and unpause', async () => {
      const agent = await newAgent();
      expect((await post(`/agents/${agent.id}/pause`).expect(409)).body.message).toBe('Agent not logged in');
      expect((await post(`/agents/${agent.id}/unpause`).expect(409)).body.message).toBe('Agent not logged in');
    });

    it('pauses with or without a reason; reason 0 means available; unknown reason 404', async () => {
      const agent = await newAgent();
      const reason = (await post('/pause-reasons', { name: `Lunch ${agent.id}` }).expect(201)).body;
      await post(`/agents/${agent.id}/login`).expect(200);
      const paused = await post(`/agents/${agent.id}/pause`, { reasonId: reason.id }).expect(200);
      expect(paused.body).toMatchObject({ paused: true, pauseReason: { id: reason.id, name: reason.name }, state: 'paused' });
      const unpaused = await post(`/agents/${agent.id}/pause`, { reasonId: 0 }).expect(200);
      expect(unpaused.body).toMatchObject({ paused: false, pauseReason: null, state: 'available' });
      expect((await post(`/agents/${agent.id}/pause`).expect(200)).body).toMatchObject({ paused: true, pauseReason: null });
      expect((await post(`/agents/${agent.id}/pause`, { reasonId: 999999 }).expect(404)).body.message).toBe('No such pause reason');
      expect((await post(`/agents/${agent.id}/unpause`).expect(200)).body).toMatchObject({ paused: false, state: 'available' });
      await post(`/agents/${agent.id}/pause`, { reasonId: -1 }).expect(400);
      await post(`/agents/${agent.id}/pause`, { reasonId: 'x', extra: 1 }).expect(400);
      expect((await history(agent.id)).map((h: { reason: string }) => h.reason)).toEqual(['login', 'pause', 'unpause', 'pause', 'unpause']);
    });
  });

  describe('wrap-up', () => {
    it('answers 409 when not logged in and 400 outside 0..3600', async () => {
      const agent = await newAgent();
      await post(`/agents/${agent.id}/wrap-up`, { seconds: 5 }).expect(409);
      await post(`/agents/${agent.id}/login`).expect(200);
      await post(`/agents/${agent.id}/wrap-up`, { seconds: 3601 }).expect(400);
      await post(`/agents/${agent.id}/wrap-up`, { seconds: -1 }).expect(400);
    });

    it('ends by itself when the time passes: the state returns to available and the end is recorded', async () => {
      const agent = await newAgent();
      const events: { reason: string; status: { state: string } }[] = [];
      const listener = (e: { agentId: number; reason: string; status: { state: string } }) => e.agentId === agent.id && events.push(e);
      t.app.get(EventEmitter2).on('agent.status.changed', listener);
      try {
        await post(`/agents/${agent.id}/login`).expect(200);
        const before = Date.now();
        const res = await post(`/agents/${agent.id}/wrap-up`, { seconds: 1 }).expect(200);
        expect(res.body.state).toBe('wrap-up');
        const until = Date.parse(res.body.wrapUpUntil);
        expect(until).toBeGreaterThan(before);
        expect(until).toBeLessThan(Date.now() + 1500);
        await sleep(1300);
        expect(await status(agent.id)).toMatchObject({ state: 'available', wrapUpUntil: null });
        expect((await history(agent.id)).at(-1)).toEqual({ from: 'wrap-up', to: 'available', reason: 'wrap-up-ended' });
        expect(events.map((e) => e.reason)).toEqual(['login', 'wrap-up', 'wrap-up-ended']);
        expect(events[2].status.state).toBe('available');
      } finally {
        t.app.get(EventEmitter2).off('agent.status.changed', listener);
      }
    });

    it('uses the agent wrapUpSeconds when seconds is omitted; 0 ends it now', async () => {
      const agent = await newAgent({ wrapUpSeconds: 120 });
      await post(`/agents/${agent.id}/login`).expect(200);
      const res = await post(`/agents/${agent.id}/wrap-up`).expect(200);
      expect(Date.parse(res.body.wrapUpUntil) - Date.now()).toBeGreaterThan(110_000);
      expect(res.body.state).toBe('wrap-up');
      const ended = await post(`/agents/${agent.id}/wrap-up`, { seconds: 0 }).expect(200);
      expect(ended.body).toMatchObject({ wrapUpUntil: null, state: 'available' });
      // With a default of 0, an omitted seconds ends (or does not start) a wrap-up.
      const none = await newAgent();
      await post(`/agents/${none.id}/login`).expect(200);
      expect((await post(`/agents/${none.id}/wrap-up`).expect(200)).body).toMatchObject({ wrapUpUntil: null, state: 'available' });
    });

    it('is ended by the periodic sweep even when no timer of this instance knows it (restart, other instance)', async () => {
      const agent = await newAgent();
      await post(`/agents/${agent.id}/login`).expect(200);
      await db.query(`UPDATE agent_presence SET wrap_up_until = now() - interval '1 second' WHERE agent_id = $1`, [agent.id]);
      const deadline = Date.now() + 5000;
      while ((await db.query(`SELECT wrap_up_until FROM agent_presence WHERE agent_id = $1`, [agent.id]))[0].wrap_up_until !== null) {
        if (Date.now() > deadline) throw new Error('the sweep did not end the wrap-up');
        await sleep(100);
      }
      expect((await history(agent.id)).at(-1)).toEqual({ from: 'wrap-up', to: 'available', reason: 'wrap-up-ended' });
    });
  });

  describe('status', () => {
    it('derives busy from active conversations and capacity, and counts them', async () => {
      const agent = await newAgent({ maxConcurrent: 1 });
      await post(`/agents/${agent.id}/login`).expect(200);
      await insertConversation(t, agent.id, 'active');
      expect(await status(agent.id)).toMatchObject({ state: 'busy', activeConversations: 1, maxConcurrent: 1 });
    });

    it('answers 404 for an unknown agent (by id and by number) and 400 for a malformed id', async () => {
      expect((await t.http.get(`${API}/agents/999999/status`).set(bearer(admin)).expect(404)).body.message).toBe('No such agent');
      await t.http.get(`${API}/agents/by-number/000000000/status`).set(bearer(admin)).expect(404);
      await post(`/agents/by-number/000000000/login`).expect(404);
      await post(`/agents/999999/login`).expect(404);
      await t.http.get(`${API}/agents/abc/status`).set(bearer(admin)).expect(400);
    });

    it('GET /agents/statuses answers every agent status (admin only)', async () => {
      const agent = await newAgent();
      const res = await t.http.get(`${API}/agents/statuses`).set(bearer(admin)).expect(200);
      expect(Array.isArray(res.body)).toBe(true);
      const total = (await db.query(`SELECT count(*)::int AS n FROM agents`))[0].n;
      expect(res.body).toHaveLength(total);
      expect(res.body.find((s: { id: number }) => s.id === agent.id)).toMatchObject({ id: agent.id, number: agent.number, state: 'offline' });
      expect(Object.keys(res.body[0]).sort()).toEqual(STATUS_KEYS);
    });
  });

  describe('by number', () => {
    it('offers every per-agent route by number', async () => {
      const agent = await newAgent();
      const base = `/agents/by-number/${agent.number}`;
      expect((await post(`${base}/login`, { extension: '5001' }).expect(200)).body).toMatchObject({ id: agent.id, logged: true, extension: '5001' });
      expect((await post(`${base}/pause`).expect(200)).body.state).toBe('paused');
      expect((await post(`${base}/unpause`).expect(200)).body.state).toBe('available');
      expect((await post(`${base}/wrap-up`, { seconds: 60 }).expect(200)).body.state).toBe('wrap-up');
      expect((await t.http.get(`${API}${base}/status`).set(bearer(admin)).expect(200)).body).toMatchObject({ id: agent.id, state: 'wrap-up' });
      expect((await post(`${base}/logoff`).expect(200)).body.state).toBe('offline');
      await post(`${base}/logoff`).expect(409);
    });
  });

  describe('logoff-all and relog-all', () => {
    it('relogs every logged-in agent on its device, clearing pause and wrap-up, keeping conversations; logoff-all logs all off', async () => {
      await post('/agents/logoff-all').expect(200);
      const [a, b, c] = [await newAgent(), await newAgent(), await newAgent()];
      await post(`/agents/${a.id}/login`, { extension: '6001', context: 'x' }).expect(200);
      await post(`/agents/${b.id}/login`).expect(200);
      await post(`/agents/${b.id}/pause`).expect(200);
      await post(`/agents/${c.id}/login`).expect(200);
      await post(`/agents/${c.id}/wrap-up`, { seconds: 600 }).expect(200);
      const conversation = await insertConversation(t, a.id, 'active');
      const releasedBefore = released.length;
      // The allocation engine may hand `a` conversations that wait from earlier tests: compare, don't assume.
      const activeBefore = (await status(a.id)).activeConversations;

      expect((await post('/agents/relog-all').expect(200)).body).toEqual({ affected: 3 });
      expect(await status(a.id)).toMatchObject({ logged: true, extension: '6001', context: 'x', activeConversations: activeBefore });
      expect(await status(b.id)).toMatchObject({ logged: true, paused: false, state: 'available' });
      expect(await status(c.id)).toMatchObject({ logged: true, wrapUpUntil: null, state: 'available' });
      expect(released.length).toBe(releasedBefore);
      expect((await db.query(`SELECT agent_id, status FROM conversations WHERE id = $1`, [conversation]))[0]).toEqual({ agent_id: a.id, status: 'active' });
      expect((await history(b.id)).slice(-2)).toEqual([
        { from: 'paused', to: 'offline', reason: 'relog' },
        { from: 'offline', to: 'available', reason: 'relog' },
      ]);

      await db.query(`UPDATE conversations SET status = 'resolved', resolved_at = now() WHERE id = $1`, [conversation]);
      expect((await post('/agents/logoff-all').expect(200)).body).toEqual({ affected: 3 });
      for (const agent of [a, b, c]) expect((await status(agent.id)).state).toBe('offline');
      expect(released.slice(releasedBefore).map((r) => r.agentId).sort()).toEqual([a.id, b.id, c.id].sort());
      expect((await history(c.id)).at(-1)).toEqual({ from: 'available', to: 'offline', reason: 'logoff-all' });
      expect((await post('/agents/logoff-all').expect(200)).body).toEqual({ affected: 0 });
      expect((await post('/agents/relog-all').expect(200)).body).toEqual({ affected: 0 });
    });
  });

  describe('pause reasons', () => {
    it('lists (paginated) to agents and admins; only admins create; duplicates 409; names validated', async () => {
      const agent = await newAgent();
      const name = `Break ${Date.now()}`;
      const created = await post('/pause-reasons', { name }).expect(201);
      expect(created.body).toEqual({ id: expect.any(Number), name });
      expect((await post('/pause-reasons', { name }).expect(409)).body.message).toBe('Pause reason already exists');
      await post('/pause-reasons', { name: '' }).expect(400);
      await post('/pause-reasons', { name: 'x', extra: 1 }).expect(400);
      await post('/pause-reasons', { name: 'By agent' }, agent.token).expect(403);
      const list = await t.http.get(`${API}/pause-reasons?limit=100`).set(bearer(agent.token)).expect(200);
      expect(list.body.data).toContainEqual(created.body);
      expect(list.body.meta).toMatchObject({ page: 1, limit: 100, total: list.body.data.length });
      await t.http.get(`${API}/pause-reasons?limit=101`).set(bearer(admin)).expect(400);
      await t.http.get(`${API}/pause-reasons`).set(bearer(customer)).expect(403);
      await t.http.get(`${API}/pause-reasons`).expect(401);
      await t.http.post(`${API}/pause-reasons`).send({ name: 'anon' }).expect(401);
    });
  });

  describe('authorization', () => {
    let self: TestAgent;
    let other: TestAgent;

    beforeAll(async () => {
      self = await newAgent();
      other = await newAgent();
    });

    const perAgent = (ref: string): [string, string, object | undefined][] => [
      ['post', `/agents/${ref}/login`, {}],
      ['post', `/agents/${ref}/pause`, {}],
      ['post', `/agents/${ref}/unpause`, {}],
      ['post', `/agents/${ref}/wrap-up`, { seconds: 0 }],
      ['get', `/agents/${ref}/status`, undefined],
      ['post', `/agents/${ref}/logoff`, {}],
    ];
    const adminOnly: [string, string, object | undefined][] = [
      ['get', '/agents/statuses', undefined],
      ['post', '/agents/logoff-all', {}],
      ['post', '/agents/relog-all', {}],
    ];
    const call = (method: string, path: string, body: object | undefined, token?: string) => {
      const req = (t.http as any)[method](`${API}${path}`);
      if (token) req.set(bearer(token));
      return body ? req.send(body) : req;
    };
    const all = () => [...perAgent(String(self.id)), ...perAgent(`by-number/${self.number}`), ...adminOnly];

    it('answers 401 without a token and 403 to a customer', async () => {
      for (const [method, path, body] of all()) {
        expect([path, (await call(method, path, body)).status]).toEqual([path, 401]);
        expect([path, (await call(method, path, body, customer)).status]).toEqual([path, 403]);
      }
    });

    it('lets an agent act on itself, by id and by number, and on no one else', async () => {
      for (const [method, path, body] of [...perAgent(String(self.id)), ...perAgent(`by-number/${self.number}`)]) {
        expect([path, (await call(method, path, body, self.token)).status]).toEqual([path, 200]);
        expect([path, (await call(method, path, body, other.token)).status]).toEqual([path, 403]);
      }
      // An unknown number is not revealed to an agent.
      expect((await call('get', '/agents/by-number/000000001/status', undefined, self.token)).status).toBe(403);
      for (const [method, path, body] of adminOnly) expect([path, (await call(method, path, body, self.token)).status]).toEqual([path, 403]);
    });

    it('lets the admin act on any agent and use the admin-only routes', async () => {
      for (const [method, path, body] of [...perAgent(String(other.id)), ...perAgent(`by-number/${other.number}`), ...adminOnly]) {
        expect([path, (await call(method, path, body, admin)).status]).toEqual([path, 200]);
      }
    });
  });
});

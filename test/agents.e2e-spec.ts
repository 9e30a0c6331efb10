import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { TransactionHooks } from '@cc/common';
import { AGENT_PASSWORD, agentBody, agentNumber, createAgent, insertConversation, TestAgent } from './factories/agent.factory';
import { ContactCenter } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TEST_ADMIN, TestApp } from './utils/create-test-app';
import { closeAll, connect } from './utils/ws-client';

const API = '/api/v1';
const messages = (res: { body: { message: string | string[] } }) => [res.body.message].flat().join(' | ');

describe('Agents (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let db: DataSource;
  let defaultQueueId: number;
  let customer: string;

  const newQueue = async (name = `q-${Math.random().toString(36).slice(2)}`) =>
    (await db.query(`INSERT INTO queues (name) VALUES ($1) RETURNING id`, [name]))[0].id as number;
  const agentCount = async () => (await db.query(`SELECT count(*)::int AS n FROM agents`))[0].n as number;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t);
    db = t.app.get(DataSource);
    defaultQueueId = (await db.query(`SELECT id FROM queues WHERE name = 'default'`))[0].id;
    customer = (await t.http.post(`${API}/customers/session`).send({}).expect(201)).body.accessToken;
  });
  afterAll(() => t.close());

  describe('POST /agents', () => {
    it('creates an agent with defaults, in the default queue, offline, with zero stats, never exposing the password', async () => {
      const body = agentBody({ email: 'Mixed.Case@Example.com', skills: ['Web', 'WA'], number: agentNumber() });
      const res = await t.http.post(`${API}/agents`).set(bearer(admin)).send(body).expect(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        email: 'mixed.case@example.com',
        name: body.name,
        number: body.number,
        skills: ['web', 'wa'],
        maxConcurrent: 2,
        channelCapacity: {},
        wrapUpSeconds: 0,
        manualStatus: null,
        routingType: 'app',
        phoneNumber: null,
        queueIds: [defaultQueueId],
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        stats: { activeConversations: 0, totalConversations: 0, totalResolved: 0, latestConversation: null },
        status: { logged: false, extension: null, context: null, paused: false, pauseReason: null, wrapUpUntil: null, state: 'offline', activeByChannel: {} },
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|\$2[aby]\$/i);
      const presence = await db.query(`SELECT logged FROM agent_presence WHERE agent_id = $1`, [res.body.id]);
      expect(presence).toEqual([{ logged: false }]);
    });

    it('takes every optional field, and the new agent can log in (any letter case of its email)', async () => {
      const queueId = await newQueue();
      const body = agentBody({
        maxConcurrent: 5,
        wrapUpSeconds: 30,
        manualStatus: 'on site',
        routingType: 'phone',
        phoneNumber: '+15550100',
        queueIds: [queueId, defaultQueueId, queueId],
      });
      const res = await t.http.post(`${API}/agents`).set(bearer(admin)).send(body).expect(201);
      expect(res.body).toMatchObject({ maxConcurrent: 5, wrapUpSeconds: 30, manualStatus: 'on site', routingType: 'phone', phoneNumber: '+15550100' });
      expect(res.body.queueIds).toEqual([defaultQueueId, queueId].sort((a, b) => a - b));
      const login = await t.http.post(`${API}/auth/login`).send({ email: body.email.toUpperCase(), password: AGENT_PASSWORD }).expect(200);
      expect(login.body.user).toMatchObject({ id: res.body.id, role: 'agent' });
      await t.http.get(`${API}/agents/me`).set(bearer(login.body.accessToken)).expect(200);
    });

    it('answers 409 for a duplicate email (any case), a duplicate number or an admin email, creating nothing', async () => {
      const number = agentNumber();
      const first = await createAgent(t, admin, { number });
      const before = await agentCount();
      const dupEmail = await t.http.post(`${API}/agents`).set(bearer(admin)).send(agentBody({ email: first.email.toUpperCase() })).expect(409);
      expect(dupEmail.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'Email already in use' });
      const dupNumber = await t.http.post(`${API}/agents`).set(bearer(admin)).send(agentBody({ number })).expect(409);
      expect(dupNumber.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'Number already in use' });
      await t.http.post(`${API}/agents`).set(bearer(admin)).send(agentBody({ email: TEST_ADMIN.email })).expect(409);
      expect(await agentCount()).toBe(before);
    });

    it('answers 404 "No such queue" for an unknown queue id, creating nothing', async () => {
      const before = await agentCount();
      const res = await t.http.post(`${API}/agents`).set(bearer(admin)).send(agentBody({ queueIds: [defaultQueueId, 999999] })).expect(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No such queue' });
      expect(await agentCount()).toBe(before);
    });

    it('answers 400 naming every offending field, and rejects unknown fields', async () => {
      const missing = await t.http.post(`${API}/agents`).set(bearer(admin)).send({ extra: 1 }).expect(400);
      expect(missing.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      for (const field of ['email', 'name', 'password', 'extra']) expect(messages(missing)).toMatch(field);
      const bad = await t.http
        .post(`${API}/agents`)
        .set(bearer(admin))
        .send(
          agentBody({
            email: 'not-an-email',
            number: '12a',
            skills: 'web',
            maxConcurrent: 51,
            wrapUpSeconds: 3601,
            routingType: 'fax',
            queueIds: [0],
          }),
        )
        .expect(400);
      for (const field of ['email', 'number', 'skills', 'maxConcurrent', 'wrapUpSeconds', 'routingType', 'queueIds']) expect(messages(bad)).toMatch(field);
      const low = await t.http.post(`${API}/agents`).set(bearer(admin)).send(agentBody({ maxConcurrent: 0, wrapUpSeconds: -1 })).expect(400);
      expect(messages(low)).toMatch(/maxConcurrent.*wrapUpSeconds|wrapUpSeconds.*maxConcurrent/);
      await t.http.post(`${API}/agents`).set(bearer(admin)).send(agentBody({ maxConcurrent: null })).expect(400);
    });
  });

  describe('POST /agents/get-or-create', () => {
    it('answers 201 with a new agent, then 200 with the same agent unchanged', async () => {
      const body = agentBody({ maxConcurrent: 3 });
      const created = await t.http.post(`${API}/agents/get-or-create`).set(bearer(admin)).send(body).expect(201);
      const again = await t.http
        .post(`${API}/agents/get-or-create`)
        .set(bearer(admin))
        .send({ ...body, email: body.email.toUpperCase(), name: 'Another name', maxConcurrent: 7 })
        .expect(200);
      expect(again.body).toEqual(created.body);
    });

    it('gives one agent to 20 concurrent calls', async () => {
      const body = agentBody();
      const results = await Promise.all(Array.from({ length: 20 }, () => t.http.post(`${API}/agents/get-or-create`).set(bearer(admin)).send(body)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([...Array(19).fill(200), 201]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      const rows = await db.query(`SELECT id FROM agents WHERE email = $1`, [body.email]);
      expect(rows).toHaveLength(1);
      const memberships = await db.query(`SELECT queue_id FROM queue_members WHERE agent_id = $1`, [rows[0].id]);
      expect(memberships).toEqual([{ queue_id: defaultQueueId }]);
    });

    it('validates like POST /agents and answers 409 for a number taken by another agent', async () => {
      await t.http.post(`${API}/agents/get-or-create`).set(bearer(admin)).send({ email: 'x@example.com' }).expect(400);
      const other = await createAgent(t, admin, { number: agentNumber() });
      await t.http.post(`${API}/agents/get-or-create`).set(bearer(admin)).send(agentBody({ number: other.number })).expect(409);
    });
  });

  describe('GET /agents', () => {
    let tag: string;
    let listed: TestAgent[];

    beforeAll(async () => {
      tag = `zz${Date.now().toString(36)}`;
      listed = [];
      for (let i = 0; i < 5; i++) {
        listed.push(await createAgent(t, admin, { name: `List ${tag} ${i}`, skills: i < 2 ? ['wa'] : i < 4 ? ['web'] : [] }));
      }
    });

    it('paginates with the meta of the contract', async () => {
      const res = await t.http.get(`${API}/agents?q=${tag}&page=2&limit=2`).set(bearer(admin)).expect(200);
      expect(res.body.meta).toEqual({ page: 2, limit: 2, total: 5, totalPages: 3 });
      expect(res.body.data.map((a: { id: number }) => a.id)).toEqual([listed[2].id, listed[3].id]);
      const last = await t.http.get(`${API}/agents?q=${tag}&page=3&limit=2`).set(bearer(admin)).expect(200);
      expect(last.body.data).toHaveLength(1);
      const past = await t.http.get(`${API}/agents?q=${tag}&page=9&limit=2`).set(bearer(admin)).expect(200);
      expect(past.body).toEqual({ data: [], meta: { page: 9, limit: 2, total: 5, totalPages: 3 } });
      const all = await t.http.get(`${API}/agents`).set(bearer(admin)).expect(200);
      expect(all.body.meta).toMatchObject({ page: 1, limit: 20, total: await agentCount() });
      expect(all.body.data[0]).toHaveProperty('stats');
      expect(all.body.data[0]).toHaveProperty('status');
    });

    it('answers 400 for limit and page out of bounds or unknown query fields', async () => {
      for (const query of ['limit=0', 'limit=101', 'page=0', 'limit=abc', 'state=sleeping', 'foo=1']) {
        const res = await t.http.get(`${API}/agents?${query}`).set(bearer(admin)).expect(400);
        expect(messages(res)).toMatch(query.split('=')[0]);
      }
      await t.http.get(`${API}/agents?limit=100`).set(bearer(admin)).expect(200);
      await t.http.get(`${API}/agents?limit=1`).set(bearer(admin)).expect(200);
    });

    it('filters by q over name, email and number, case-insensitively and literally', async () => {
      const number = agentNumber();
      const agent = await createAgent(t, admin, { number, name: 'Searchable_Person%' });
      const byNumber = await t.http.get(`${API}/agents?q=${number}`).set(bearer(admin)).expect(200);
      expect(byNumber.body.data.map((a: { id: number }) => a.id)).toEqual([agent.id]);
      const byEmail = await t.http.get(`${API}/agents?q=${encodeURIComponent(agent.email.toUpperCase())}`).set(bearer(admin)).expect(200);
      expect(byEmail.body.data.map((a: { id: number }) => a.id)).toEqual([agent.id]);
      const byName = await t.http.get(`${API}/agents?q=${encodeURIComponent('able_person%')}`).set(bearer(admin)).expect(200);
      expect(byName.body.data.map((a: { id: number }) => a.id)).toEqual([agent.id]);
      const wildcard = await t.http.get(`${API}/agents?q=${encodeURIComponent('%')}`).set(bearer(admin)).expect(200);
      expect(wildcard.body.data.map((a: { id: number }) => a.id)).toEqual([agent.id]);
    });

    it('filters by skill (agents without skills serve every channel)', async () => {
      const res = await t.http.get(`${API}/agents?q=${tag}&skill=WA`).set(bearer(admin)).expect(200);
      expect(res.body.data.map((a: { id: number }) => a.id)).toEqual([listed[0].id, listed[1].id, listed[4].id]);
    });

    it('filters by derived state, in the database', async () => {
      await t.http.post(`${API}/agents/${listed[0].id}/login`).set(bearer(admin)).send({}).expect(200);
      await t.http.post(`${API}/agents/${listed[1].id}/login`).set(bearer(admin)).send({}).expect(200);
      await t.http.post(`${API}/agents/${listed[1].id}/pause`).set(bearer(admin)).send({}).expect(200);
      await t.http.post(`${API}/agents/${listed[2].id}/login`).set(bearer(admin)).send({}).expect(200);
      await t.http.post(`${API}/agents/${listed[2].id}/wrap-up`).set(bearer(admin)).send({ seconds: 600 }).expect(200);
      await t.http.post(`${API}/agents/${listed[3].id}/login`).set(bearer(admin)).send({}).expect(200);
      await insertConversation(t, listed[3].id, 'active');
      await insertConversation(t, listed[3].id, 'active');
      const ids = async (state: string) =>
        (await t.http.get(`${API}/agents?q=${tag}&state=${state}`).set(bearer(admin)).expect(200)).body.data.map((a: { id: number }) => a.id);
      expect(await ids('available')).toEqual([listed[0].id]);
      expect(await ids('paused')).toEqual([listed[1].id]);
      expect(await ids('wrap-up')).toEqual([listed[2].id]);
      expect(await ids('busy')).toEqual([listed[3].id]);
      expect(await ids('offline')).toEqual([listed[4].id]);
      const busy = await t.http.get(`${API}/agents?q=${tag}&state=busy`).set(bearer(admin)).expect(200);
      expect(busy.body.meta.total).toBe(1);
      expect(busy.body.data[0].status).toMatchObject({ logged: true, state: 'busy' });
    });
  });

  describe('stats', () => {
    it('counts active, total and resolved conversations and names the latest, per agent of a page', async () => {
      const a = await createAgent(t, admin, { maxConcurrent: 3 });
      const b = await createAgent(t, admin);
      await insertConversation(t, a.id, 'resolved');
      await insertConversation(t, a.id, 'active');
      const latest = await insertConversation(t, a.id, 'active');
      await insertConversation(t, b.id, 'resolved');
      const res = await t.http.get(`${API}/agents?limit=100&page=1`).set(bearer(admin)).expect(200);
      const find = (id: number) => res.body.data.find((x: { id: number }) => x.id === id);
      expect(find(a.id).stats).toEqual({
        activeConversations: 2,
        totalConversations: 3,
        totalResolved: 1,
        latestConversation: { id: latest, status: 'active', createdAt: expect.any(String) },
      });
      expect(find(b.id).stats).toMatchObject({ activeConversations: 0, totalConversations: 1, totalResolved: 1 });
      const single = await t.http.get(`${API}/agents/${a.id}`).set(bearer(admin)).expect(200);
      expect(single.body.stats).toEqual(find(a.id).stats);
    });
    it('keeps its counters equal to a direct count through start, assign, transfer, requeue, resolve and agent deletion', async () => {
      const cc = new ContactCenter(t, admin);
      const queue = await cc.queue();
      const other = await cc.queue();
      const a = await cc.agent({ queueIds: [queue.id], maxConcurrent: 1 });
      const b = await cc.agent({ queueIds: [queue.id, other.id], maxConcurrent: 3 });
      // Every agent's stats as GET /agents answers them, beside a count of its conversations.
      const disagreements = async () => {
        const direct: { id: number; total: number; active: number; resolved: number }[] = await db.query(
          `SELECT a.id, count(c.id)::int AS total, count(c.id) FILTER (WHERE c.status = 'active')::int AS active,
                  count(c.id) FILTER (WHERE c.status = 'resolved')::int AS resolved
           FROM agents a LEFT JOIN conversations c ON c.agent_id = a.id GROUP BY a.id`,
        );
        const listed = new Map<number, { activeConversations: number; totalConversations: number; totalResolved: number }>();
        for (let page = 1; ; page++) {
          const res = await t.http.get(`${API}/agents?limit=100&page=${page}`).set(bearer(admin)).expect(200);
          for (const agent of res.body.data) listed.set(agent.id, agent.stats);
          if (page * 100 >= res.body.meta.total) break;
        }
        return direct
          .filter((d) => {
            const s = listed.get(d.id);
            return !s || s.totalConversations !== d.total || s.activeConversations !== d.active || s.totalResolved !== d.resolved;
          })
          .map((d) => ({ direct: d, listed: listed.get(d.id) }));
      };
      const stats = async (id: number) => (await t.http.get(`${API}/agents/${id}`).set(bearer(admin)).expect(200)).body.stats;

      const first = (await cc.start({ queueId: queue.id })).conversation;
      const second = (await cc.start({ queueId: queue.id })).conversation;
      expect([first.agentId, second.agentId].sort()).toEqual([a.id, b.id].sort());
      expect(await disagreements()).toEqual([]);

      const fromA = first.agentId === a.id ? first : second;
      await cc.post(`/conversations/${fromA.id}/transfer`, { agentId: b.id }).expect(200);
      expect(await stats(a.id)).toMatchObject({ activeConversations: 0, totalConversations: 0 });
      expect(await stats(b.id)).toMatchObject({ activeConversations: 2, totalConversations: 2 });
      expect(await disagreements()).toEqual([]);

      const waiting = (await cc.start({ queueId: queue.id })).conversation; // A is free again: allocated to it
      expect(waiting.agentId).toBe(a.id);
      await cc.post(`/conversations/${waiting.id}/transfer`, { queueId: other.id }).expect(200); // to B, the only agent of the other queue
      expect(await disagreements()).toEqual([]);
      await cc.post(`/conversations/${fromA.id}/assign`, { agentId: a.id }).expect(200);
      expect(await disagreements()).toEqual([]);

      await cc.post(`/conversations/${fromA.id}/resolve`).expect(200);
      await cc.post(`/conversations/${waiting.id}/resolve`).expect(200);
      expect(await stats(a.id)).toMatchObject({ activeConversations: 0, totalConversations: 1, totalResolved: 1 });
      expect(await disagreements()).toEqual([]);

      const gone = await cc.agent({ queueIds: [queue.id] });
      const last = (await cc.start({ queueId: other.id })).conversation;
      await cc.post(`/conversations/${last.id}/assign`, { agentId: gone.id }).expect(200);
      await cc.post(`/conversations/${last.id}/resolve`).expect(200);
      await t.http.delete(`${API}/agents/${gone.id}`).set(bearer(admin)).expect(204);
      expect(await db.query(`SELECT agent_id FROM agent_conversation_counts WHERE agent_id = $1`, [gone.id])).toEqual([]);
      expect(await disagreements()).toEqual([]);
    });
  });

  describe('GET /agents/:id and /agents/me', () => {
    it('answers the agent, 404 for an unknown id, 400 for a malformed one', async () => {
      const agent = await createAgent(t, admin);
      const res = await t.http.get(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(200);
      expect(res.body).toMatchObject({ id: agent.id, email: agent.email });
      const missing = await t.http.get(`${API}/agents/999999`).set(bearer(admin)).expect(404);
      expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No such agent' });
      await t.http.get(`${API}/agents/abc`).set(bearer(admin)).expect(400);
      await t.http.get(`${API}/agents/99999999999`).set(bearer(admin)).expect(400);
    });

    it('GET /agents/me answers the calling agent', async () => {
      const agent = await createAgent(t, admin);
      const me = await t.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(200);
      expect(me.body).toMatchObject({ id: agent.id, email: agent.email, stats: expect.any(Object), status: expect.any(Object) });
    });
  });

  describe('PATCH /agents/:id', () => {
    it('changes any field, including the password (which revokes older tokens), and answers the agent', async () => {
      const agent = await createAgent(t, admin);
      const oldToken = (await t.http.post(`${API}/auth/login`).send({ email: agent.email, password: AGENT_PASSWORD }).expect(200)).body.accessToken;
      const queueId = await newQueue();
      const number = agentNumber();
      const res = await t.http
        .patch(`${API}/agents/${agent.id}`)
        .set(bearer(admin))
        .send({ name: 'Renamed', number, skills: ['FB'], maxConcurrent: 4, wrapUpSeconds: 10, manualStatus: 'lunch', routingType: 'phone', phoneNumber: '123', queueIds: [queueId], password: 'new-secret' })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'Renamed', number, skills: ['fb'], maxConcurrent: 4, wrapUpSeconds: 10, manualStatus: 'lunch', routingType: 'phone', phoneNumber: '123', queueIds: [queueId] });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(agent.body.updatedAt));
      await t.http.post(`${API}/auth/login`).send({ email: agent.email, password: AGENT_PASSWORD }).expect(401);
      await t.http.get(`${API}/auth/me`).set(bearer(oldToken)).expect(401);
      const fresh = (await t.http.post(`${API}/auth/login`).send({ email: agent.email, password: 'new-secret' }).expect(200)).body.accessToken;
      await t.http.get(`${API}/auth/me`).set(bearer(fresh)).expect(200);
      const cleared = await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ number: null, manualStatus: null }).expect(200);
      expect(cleared.body).toMatchObject({ number: null, manualStatus: null, name: 'Renamed' });
      const same = await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({}).expect(200);
      expect(same.body).toMatchObject({ name: 'Renamed', queueIds: [queueId] });
    });

    it('answers 409 for a taken email or number, 404 for an unknown agent or queue, 400 for bad fields; nothing half-applies', async () => {
      const agent = await createAgent(t, admin);
      const other = await createAgent(t, admin, { number: agentNumber() });
      await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ email: other.email, name: 'X' }).expect(409);
      await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ number: other.number, name: 'X' }).expect(409);
      await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ email: TEST_ADMIN.email }).expect(409);
      const noQueue = await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ name: 'X', queueIds: [999999] }).expect(404);
      expect(noQueue.body.message).toBe('No such queue');
      await t.http.patch(`${API}/agents/999999`).set(bearer(admin)).send({ name: 'X' }).expect(404);
      const bad = await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ name: null, maxConcurrent: 0, extra: true }).expect(400);
      for (const field of ['name', 'maxConcurrent', 'extra']) expect(messages(bad)).toMatch(field);
      const after = await t.http.get(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(200);
      expect(after.body).toMatchObject({ name: agent.body.name, email: agent.email, queueIds: [defaultQueueId] });
    });

    it('publishes agent.capacity.changed when capacity rises or queues change, not otherwise', async () => {
      const agent = await createAgent(t, admin);
      const events: { agentId: number; reason: string }[] = [];
      const emitter = t.app.get(EventEmitter2);
      const listener = (e: { agentId: number; reason: string }) => e.agentId === agent.id && events.push(e);
      emitter.on('agent.capacity.changed', listener);
      try {
        await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ name: 'Only a name' }).expect(200);
        await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ maxConcurrent: 1 }).expect(200);
        expect(events).toEqual([]);
        await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ maxConcurrent: 3 }).expect(200);
        await t.http.patch(`${API}/agents/${agent.id}`).set(bearer(admin)).send({ queueIds: [defaultQueueId, await newQueue()] }).expect(200);
        expect(events.map((e) => e.reason)).toEqual(['capacity-raised', 'queues-changed']);
      } finally {
        emitter.off('agent.capacity.changed', listener);
      }
    });
  });

  describe('DELETE /agents/:id', () => {
    it('deletes the agent (204), revokes its token, and answers 404 afterwards', async () => {
      const agent = await createAgent(t, admin);
      const deleted: number[] = [];
      const listener = (e: { agentId: number }) => deleted.push(e.agentId);
      t.app.get(EventEmitter2).on('agent.deleted', listener);
      await t.http.delete(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(204);
      t.app.get(EventEmitter2).off('agent.deleted', listener);
      expect(deleted).toEqual([agent.id]);
      await t.http.get(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(404);
      await t.http.delete(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(404);
      await t.http.get(`${API}/agents/me`).set(bearer(agent.token)).expect(401);
      expect(await db.query(`SELECT 1 FROM agent_presence WHERE agent_id = $1`, [agent.id])).toEqual([]);
    });

    it('tells supervisors (agent.status) and integrations (agent.status.changed, in the deleting transaction) that a logged-in agent went offline', async () => {
      const agent = await createAgent(t, admin);
      await t.http.post(`${API}/agents/${agent.id}/login`).set(bearer(admin)).send({}).expect(200);
      const { client: supervisor } = await connect(t.url, '/agent', admin);
      // Events are stored for the subscriptions that want them (the receiver is never called here).
      const hook = (await t.http.post(`${API}/webhooks`).set(bearer(admin)).send({ url: 'http://127.0.0.1:9/', events: ['agent.status.changed'] }).expect(201)).body;
      try {
        const before = (await db.query(`SELECT coalesce(max(id), 0)::int AS id FROM outbox_events`))[0].id;
        await t.http.delete(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(204);
        const pushed = await supervisor.waitFor('agent.status', (s) => s.id === agent.id && s.state === 'offline');
        expect(pushed).toMatchObject({ logged: false, paused: false, activeConversations: 0, offeredConversations: 0 });
        const events = await db.query(`SELECT type, actor, data FROM outbox_events WHERE id > $1 AND type = 'agent.status.changed' AND (data->>'id')::int = $2`, [before, agent.id]);
        expect(events).toEqual([{ type: 'agent.status.changed', actor: { type: 'admin', id: expect.anything() }, data: expect.objectContaining({ id: agent.id, state: 'offline', logged: false }) }]);
        // Deleting an agent that is logged off changes no state: nothing is told.
        const idle = await createAgent(t, admin);
        await t.http.delete(`${API}/agents/${idle.id}`).set(bearer(admin)).expect(204);
        expect(await db.query(`SELECT 1 FROM outbox_events WHERE type = 'agent.status.changed' AND (data->>'id')::int = $1`, [idle.id])).toEqual([]);
      } finally {
        closeAll([supervisor]);
        await t.http.delete(`${API}/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
      }
    });

    it('runs the agent.released hook in the deleting transaction: if it fails, nothing is deleted', async () => {
      const agent = await createAgent(t, admin);
      await t.http.post(`${API}/agents/${agent.id}/login`).set(bearer(admin)).send({}).expect(200);
      let failing = true;
      const seen: unknown[] = [];
      t.app.get(TransactionHooks).register('agent.released', async (manager, payload) => {
        if (payload.agentId !== agent.id) return;
        seen.push(payload);
        // The hook sees the agent, inside the same transaction.
        expect(await manager.query(`SELECT 1 FROM agents WHERE id = $1`, [agent.id])).toHaveLength(1);
        if (failing) throw new Error('hook failed');
      });
      await t.http.delete(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(500);
      await t.http.get(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(200);
      failing = false;
      await t.http.delete(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(204);
      expect(seen).toEqual([
        { agentId: agent.id, reason: 'deleted' },
        { agentId: agent.id, reason: 'deleted' },
      ]);
      const history = await db.query(`SELECT from_state, to_state, reason FROM agent_state_history WHERE agent_id = $1 ORDER BY id`, [agent.id]);
      expect(history.at(-1)).toEqual({ from_state: 'available', to_state: 'offline', reason: 'deleted' });
    });
  });

  describe('PUT /agents/:id/queues', () => {
    it('replaces the queues and answers them; 404 for an unknown queue or agent, changing nothing', async () => {
      const agent = await createAgent(t, admin);
      const q1 = await newQueue();
      const q2 = await newQueue();
      const res = await t.http.put(`${API}/agents/${agent.id}/queues`).set(bearer(admin)).send({ queueIds: [q2, q1] }).expect(200);
      expect(res.body).toEqual({ queueIds: [q1, q2] });
      const missing = await t.http.put(`${API}/agents/${agent.id}/queues`).set(bearer(admin)).send({ queueIds: [q1, 999999] }).expect(404);
      expect(missing.body.message).toBe('No such queue');
      expect((await t.http.get(`${API}/agents/${agent.id}`).set(bearer(admin)).expect(200)).body.queueIds).toEqual([q1, q2]);
      await t.http.put(`${API}/agents/999999/queues`).set(bearer(admin)).send({ queueIds: [q1] }).expect(404);
      expect((await t.http.put(`${API}/agents/${agent.id}/queues`).set(bearer(admin)).send({ queueIds: [] }).expect(200)).body).toEqual({ queueIds: [] });
      await t.http.put(`${API}/agents/${agent.id}/queues`).set(bearer(admin)).send({}).expect(400);
      await t.http.put(`${API}/agents/${agent.id}/queues`).set(bearer(admin)).send({ queueIds: ['a'] }).expect(400);
    });
  });

  describe('authorization', () => {
    let self: TestAgent;
    let other: TestAgent;

    beforeAll(async () => {
      self = await createAgent(t, admin);
      other = await createAgent(t, admin);
    });

    // [method, path, body, who may: 'admin' | 'admin+self' | 'agent']
    const routes = (): [string, string, object | undefined, 'admin' | 'admin+self' | 'agent'][] => [
      ['post', '/agents', agentBody(), 'admin'],
      ['post', '/agents/get-or-create', agentBody(), 'admin'],
      ['get', '/agents', undefined, 'admin'],
      ['get', '/agents/me', undefined, 'agent'],
      ['get', `/agents/${self.id}`, undefined, 'admin+self'],
      ['patch', `/agents/${self.id}`, { manualStatus: 'x' }, 'admin'],
      ['put', `/agents/${self.id}/queues`, { queueIds: [defaultQueueId] }, 'admin+self'],
      ['delete', `/agents/${self.id}`, undefined, 'admin'],
    ];

    const call = (method: string, path: string, body: object | undefined, token?: string) => {
      const req = (t.http as any)[method](`${API}${path}`);
      if (token) req.set(bearer(token));
      return body ? req.send(body) : req;
    };

    it('answers 401 without a token and 403 to a customer on every route', async () => {
      for (const [method, path, body] of routes()) {
        expect([method, path, (await call(method, path, body)).status]).toEqual([method, path, 401]);
        expect([method, path, (await call(method, path, body, customer)).status]).toEqual([method, path, 403]);
      }
    });

    it('lets an agent use only GET /agents/me, its own record and its own queues; 403 elsewhere', async () => {
      for (const [method, path, body, who] of routes()) {
        const mine = (await call(method, path, body, self.token)).status;
        const theirs = (await call(method, path, body, other.token)).status;
        const allowedSelf = who === 'agent' || who === 'admin+self';
        expect([method, path, mine < 400]).toEqual([method, path, allowedSelf]);
        expect([method, path, theirs < 400]).toEqual([method, path, who === 'agent']);
        if (!allowedSelf) expect(mine).toBe(403);
        if (who !== 'agent') expect(theirs).toBe(403);
      }
    });

    it('lets the admin use every route but /agents/me', async () => {
      for (const [method, path, body, who] of routes()) {
        const status = (await call(method, path, body, admin)).status;
        expect([method, path, status < 400]).toEqual([method, path, who !== 'agent']);
      }
    });
  });
});

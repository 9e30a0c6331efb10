import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { ContactCenter } from './factories/contact-center.factory';

describe('Conversations and messages (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(() => t.close());

  it('starts one open conversation per customer (409 with its id) and stores the first text', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [q.id] });
    const { conversation, customer } = await cc.start({ queueId: q.id, text: 'Hi there' });
    expect(conversation).toEqual({
      id: expect.any(Number),
      customerId: customer.id,
      agentId: agent.id,
      queueId: q.id,
      channel: 'web',
      status: 'active',
      createdAt: expect.any(String),
      assignedAt: expect.any(String),
      resolvedAt: null,
      resolvedBy: null,
      notes: null,
    });
    const again = await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ queueId: q.id }).expect(409);
    expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict', conversationId: conversation.id });
    const history = await t.http.get(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(agent.token)).expect(200);
    expect(history.body).toEqual({
      data: [{ id: expect.any(Number), conversationId: conversation.id, senderType: 'customer', senderId: customer.id, text: 'Hi there', clientMessageId: null, createdAt: expect.any(String) }],
      meta: { hasMore: false },
    });
  });

  it('only customers start conversations; bodies are validated', async () => {
    const agent = await cc.agent({}, { login: false });
    await t.http.post('/api/v1/conversations').set(bearer(agent.token)).send({}).expect(403);
    await t.http.post('/api/v1/conversations').set(bearer(cc.admin)).send({}).expect(403);
    const customer = await cc.customer();
    const bad = await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ queueId: 'x', text: '', foo: 1 }).expect(400);
    expect([bad.body.message].flat().join(' ')).toMatch(/queueId/);
    await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ queueId: 999999 }).expect(404);
  });

  it('lets participants and admins read a conversation, and nobody else', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [q.id] });
    const stranger = await cc.agent({ queueIds: [] });
    const { conversation, customer } = await cc.start({ queueId: q.id });
    const other = await cc.customer();
    await t.http.get(`/api/v1/conversations/${conversation.id}`).set(bearer(customer.token)).expect(200);
    await t.http.get(`/api/v1/conversations/${conversation.id}`).set(bearer(agent.token)).expect(200);
    await t.http.get(`/api/v1/conversations/${conversation.id}`).set(bearer(cc.admin)).expect(200);
    await t.http.get(`/api/v1/conversations/${conversation.id}`).set(bearer(stranger.token)).expect(403);
    await t.http.get(`/api/v1/conversations/${conversation.id}`).set(bearer(other.token)).expect(403);
    await t.http.get(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(other.token)).expect(403);
    await t.http.get(`/api/v1/conversations/999999`).set(bearer(cc.admin)).expect(404);
    await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(stranger.token)).expect(403);
    await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(customer.token)).expect(403);
  });

  it('lists each caller its own conversations, filtered and paginated', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [q.id], maxConcurrent: 5 });
    const started: any[] = [];
    for (let i = 0; i < 3; i++) started.push((await cc.start({ queueId: q.id })).conversation);
    await cc.post(`/conversations/${started[0].id}/resolve`, {}, agent.token).expect(200);
    const mine = await t.http.get('/api/v1/conversations?status=active').set(bearer(agent.token)).expect(200);
    expect(mine.body.data.map((c: { id: number }) => c.id).sort()).toEqual([started[1].id, started[2].id].sort());
    expect(mine.body.meta).toEqual({ page: 1, limit: 20, total: 2, totalPages: 1 });
    const page = await t.http.get(`/api/v1/conversations?agentId=${agent.id}&limit=1&page=2`).set(bearer(cc.admin)).expect(200);
    expect(page.body.meta).toEqual({ page: 2, limit: 1, total: 3, totalPages: 3 });
    await t.http.get(`/api/v1/conversations?agentId=${agent.id + 1}`).set(bearer(agent.token)).expect(403);
    await t.http.get('/api/v1/conversations?limit=101').set(bearer(cc.admin)).expect(400);
    const customer = await cc.customer();
    expect((await t.http.get('/api/v1/conversations').set(bearer(customer.token)).expect(200)).body.data).toEqual([]);
  });

  it('stores messages both ways, never duplicates a retried clientMessageId, and pages history', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [q.id] });
    const { conversation, customer } = await cc.start({ queueId: q.id });
    const path = `/api/v1/conversations/${conversation.id}/messages`;
    const first = await t.http.post(path).set(bearer(customer.token)).send({ text: 'one', clientMessageId: 'c-1' }).expect(201);
    expect(first.body).toMatchObject({ conversationId: conversation.id, senderType: 'customer', senderId: customer.id, text: 'one', clientMessageId: 'c-1' });
    const retry = await t.http.post(path).set(bearer(customer.token)).send({ text: 'one', clientMessageId: 'c-1' }).expect(200);
    expect(retry.body).toEqual(first.body);
    const reply = await t.http.post(path).set(bearer(agent.token)).send({ text: 'two', clientMessageId: 'c-1' }).expect(201);
    expect(reply.body).toMatchObject({ senderType: 'agent', senderId: agent.id });
    const posted = [first.body, reply.body];
    for (let i = 3; i <= 6; i++) posted.push((await t.http.post(path).set(bearer(customer.token)).send({ text: `m${i}` }).expect(201)).body);

    const all = (await t.http.get(path).set(bearer(agent.token)).expect(200)).body.data;
    expect(all.map((m: { text: string }) => m.text)).toEqual(['one', 'two', 'm3', 'm4', 'm5', 'm6']);
    // The statement's answer (createdAt formatted by PostgreSQL) is the history's view (parsed by pg), to the character.
    expect(posted).toEqual(all);
    expect(all.map((m: { id: number }) => m.id)).toEqual([...all.map((m: { id: number }) => m.id)].sort((a, b) => a - b));
    const after = await t.http.get(`${path}?after=${all[1].id}&limit=2`).set(bearer(customer.token)).expect(200);
    expect(after.body).toEqual({ data: [all[2], all[3]], meta: { hasMore: true } });
    const before = await t.http.get(`${path}?before=${all[4].id}&limit=3`).set(bearer(customer.token)).expect(200);
    expect(before.body).toEqual({ data: [all[1], all[2], all[3]], meta: { hasMore: true } });
    const tail = await t.http.get(`${path}?after=${all[3].id}`).set(bearer(customer.token)).expect(200);
    expect(tail.body.meta.hasMore).toBe(false);
  });

  it('validates messages and lets a customer write while queued', async () => {
    const q = await cc.queue();
    const { conversation, customer } = await cc.start({ queueId: q.id });
    expect(conversation.status).toBe('queued');
    const path = `/api/v1/conversations/${conversation.id}/messages`;
    await t.http.post(path).set(bearer(customer.token)).send({ text: 'still there?' }).expect(201);
    for (const body of [{}, { text: '' }, { text: 'x'.repeat(4001) }, { text: 'ok', clientMessageId: 'x'.repeat(65) }, { text: 5 }, { text: 'ok', extra: 1 }]) {
      const res = await t.http.post(path).set(bearer(customer.token)).send(body).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
    await t.http.post('/api/v1/conversations/999999/messages').set(bearer(customer.token)).send({ text: 'x' }).expect(404);
  });

  it('resolves once (by its customer, its agent or an admin) and refuses messages afterwards', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [q.id] });
    const stranger = await cc.agent({ queueIds: [] });
    const { conversation, customer } = await cc.start({ queueId: q.id });
    await cc.post(`/conversations/${conversation.id}/resolve`, {}, stranger.token).expect(403);
    const resolved = await cc.post(`/conversations/${conversation.id}/resolve`, { notes: 'thanks' }, customer.token).expect(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolvedBy: 'customer', notes: 'thanks', agentId: agent.id });
    await cc.post(`/conversations/${conversation.id}/resolve`, {}, agent.token).expect(409);
    await t.http.post(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(agent.token)).send({ text: 'late' }).expect(409);
    // The customer may start a new conversation now.
    await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ queueId: q.id }).expect(201);
    const stats = (await t.http.get(`/api/v1/agents/${agent.id}`).set(bearer(cc.admin)).expect(200)).body.stats;
    expect(stats).toMatchObject({ activeConversations: 1, totalConversations: 2, totalResolved: 1 });
  });

  it('stores concurrent sends exactly once each, even when batched together with duplicates and refusals', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [q.id] });
    const { conversation, customer } = await cc.start({ queueId: q.id });
    const stranger = await cc.customer();
    const path = `/api/v1/conversations/${conversation.id}/messages`;
    const sends = Array.from({ length: 60 }, (_, i) =>
      i % 10 === 9
        ? t.http.post(path).set(bearer(stranger.token)).send({ text: `intruder ${i}` })
        : t.http.post(path).set(bearer(i % 2 ? agent.token : customer.token)).send({ text: `burst ${i % 30}`, clientMessageId: `k-${i % 30}` }),
    );
    const results = await Promise.all(sends);
    expect(results.filter((r) => r.status === 403)).toHaveLength(6);
    const stored = results.filter((r) => r.status === 201 || r.status === 200).map((r) => r.body);
    expect(stored).toHaveLength(54);
    const history = (await t.http.get(`${path}?limit=100`).set(bearer(customer.token)).expect(200)).body.data;
    // Each (sender, clientMessageId) pair once; every answer names a stored message.
    const keys = history.map((m: { senderType: string; clientMessageId: string }) => `${m.senderType}:${m.clientMessageId}`);
    expect(new Set(keys).size).toBe(history.length);
    const ids = new Set(history.map((m: { id: number }) => m.id));
    expect(stored.every((m) => ids.has(m.id))).toBe(true);
    expect(results.filter((r) => r.status === 201)).toHaveLength(history.length);
  });

  it('answers 400, never a server error, for ids and cursors out of range or malformed', async () => {
    const customer = await cc.customer();
    for (const path of ['/api/v1/conversations/99999999999', '/api/v1/conversations/abc', '/api/v1/conversations/0', '/api/v1/conversations/1/messages?after=99999999999999999999']) {
      const res = await t.http.get(path).set(bearer(cc.admin));
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
    await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ queueId: 99999999999 }).expect(400);
    await t.http.post('/api/v1/queues/1/members').set(bearer(cc.admin)).send({ agentId: 99999999999 }).expect(400);
  });
});

import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { ContactCenter } from './factories/contact-center.factory';

describe('Queues (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t);
    cc = new ContactCenter(t, admin);
  });
  afterAll(() => t.close());

  it('has a default queue and creates queues with defaults', async () => {
    const list = await t.http.get('/api/v1/queues').set(bearer(admin)).expect(200);
    expect(list.body.data.map((q: { name: string }) => q.name)).toContain('default');
    expect(list.body.meta).toMatchObject({ page: 1, limit: 20 });
    const res = await t.http.post('/api/v1/queues').set(bearer(admin)).send({ name: 'vip', channels: ['WA'], priority: 5 }).expect(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      name: 'vip',
      strategy: 'least-busy',
      overflow: 'wait',
      channels: ['wa'],
      priority: 5,
      webhookUrl: null,
      webhookTimeoutMs: 3000,
      offerTimeoutSeconds: 0,
      pauseOnMissedOffer: true,
      slaSeconds: 60,
      memberIds: [],
      waiting: { count: 0, oldestSince: null },
    });
    await t.http.post('/api/v1/queues').set(bearer(admin)).send({ name: 'vip' }).expect(409);
  });

  it('validates bodies and answers 404 for unknown queues', async () => {
    const bad = await t.http.post('/api/v1/queues').set(bearer(admin)).send({ name: '', strategy: 'random', overflow: 'x', webhookUrl: 'not a url' }).expect(400);
    expect([bad.body.message].flat().join(' ')).toMatch(/name.*strategy.*overflow.*webhookUrl|strategy/);
    const missing = await t.http.get('/api/v1/queues/999999').set(bearer(admin)).expect(404);
    expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'No such queue' });
  });

  it('updates a queue and refuses to delete default', async () => {
    const q = await cc.queue();
    const res = await t.http.patch(`/api/v1/queues/${q.id}`).set(bearer(admin)).send({ strategy: 'round-robin', overflow: 'overflow-any' }).expect(200);
    expect(res.body).toMatchObject({ strategy: 'round-robin', overflow: 'overflow-any' });
    const defaultQueue = (await t.http.get('/api/v1/queues').set(bearer(admin))).body.data.find((x: { name: string }) => x.name === 'default');
    await t.http.delete(`/api/v1/queues/${defaultQueue.id}`).set(bearer(admin)).expect(409);
    await t.http.delete(`/api/v1/queues/${q.id}`).set(bearer(admin)).expect(204);
    await t.http.get(`/api/v1/queues/${q.id}`).set(bearer(admin)).expect(404);
  });

  it('refuses to delete a queue while conversations wait in it', async () => {
    const q = await cc.queue();
    const { conversation } = await cc.start({ queueId: q.id });
    expect(conversation.status).toBe('queued');
    await t.http.delete(`/api/v1/queues/${q.id}`).set(bearer(admin)).expect(409);
    const view = await t.http.get(`/api/v1/queues/${q.id}`).set(bearer(admin)).expect(200);
    expect(view.body.waiting).toEqual({ count: 1, oldestSince: expect.any(String) });
  });

  it('manages membership with exactly the errors of the contract', async () => {
    const q = await cc.queue();
    const agent = await cc.agent({ queueIds: [] }, { login: false });
    const body = (res: { body: unknown }) => res.body;
    await t.http.post(`/api/v1/queues/${q.id}/members`).set(bearer(admin)).send({ agentId: agent.id }).expect(204);
    expect((await t.http.get(`/api/v1/queues/${q.id}`).set(bearer(admin))).body.memberIds).toEqual([agent.id]);
    expect(body(await t.http.post(`/api/v1/queues/${q.id}/members`).set(bearer(admin)).send({ agentId: agent.id }).expect(409))).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'Agent already in queue',
    });
    expect(body(await t.http.post(`/api/v1/queues/999999/members`).set(bearer(admin)).send({ agentId: agent.id }).expect(404))).toMatchObject({ message: 'No such queue' });
    expect(body(await t.http.post(`/api/v1/queues/${q.id}/members`).set(bearer(admin)).send({ agentId: 999999 }).expect(404))).toMatchObject({ message: 'No such agent' });
    await t.http.delete(`/api/v1/queues/${q.id}/members/${agent.id}`).set(bearer(admin)).expect(204);
    expect(body(await t.http.delete(`/api/v1/queues/${q.id}/members/${agent.id}`).set(bearer(admin)).expect(409))).toMatchObject({ message: 'Agent not in queue' });
    expect(body(await t.http.delete(`/api/v1/queues/999999/members/${agent.id}`).set(bearer(admin)).expect(404))).toMatchObject({ message: 'No such queue' });
    expect(body(await t.http.delete(`/api/v1/queues/${q.id}/members/999999`).set(bearer(admin)).expect(404))).toMatchObject({ message: 'No such agent' });
  });

  it('is admin only', async () => {
    const agent = await cc.agent({}, { login: false });
    const customer = await cc.customer();
    await t.http.get('/api/v1/queues').set(bearer(agent.token)).expect(403);
    await t.http.get('/api/v1/queues').set(bearer(customer.token)).expect(403);
    await t.http.get('/api/v1/queues').expect(401);
  });
});

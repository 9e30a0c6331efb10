import { createHmac } from 'crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { DataSource } from 'typeorm';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { AgentHandle, ContactCenter, eventually } from './factories/contact-center.factory';
import { describeWith } from './utils/requires';

const WEBHOOK_SECRET = 'webhook-secret-for-tests';

async function activeCounts(t: TestApp, agentIds: number[]): Promise<number[]> {
  const rows: { agent_id: number; n: number }[] = await t.app
    .get(DataSource)
    .query(`SELECT agent_id, count(*)::int AS n FROM conversations WHERE status = 'active' AND agent_id = ANY($1) GROUP BY agent_id`, [agentIds]);
  return agentIds.map((id) => rows.find((r) => r.agent_id === id)?.n ?? 0);
}

describe('Allocation (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_SECRET } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(() => t.close());

  async function agents(n: number, queueId: number, body: Record<string, unknown> = {}): Promise<AgentHandle[]> {
    const list: AgentHandle[] = [];
    for (let i = 0; i < n; i++) list.push(await cc.agent({ maxConcurrent: 2, queueIds: [queueId], ...body }));
    return list;
  }

  describe('seed scenario: 3 agents of capacity 2, 8 customers', () => {
    it('with `wait`: 6 active, 2 queued at positions 1 and 2; a resolve hands the oldest to the freed agent', async () => {
      const q = await cc.queue();
      const team = await agents(3, q.id);
      const started: any[] = [];
      for (let i = 0; i < 8; i++) started.push((await cc.start({ queueId: q.id, text: `hello ${i}` })).conversation);
      expect(started.slice(0, 6).every((c) => c.status === 'active')).toBe(true);
      expect(started.slice(6).map((c) => [c.status, c.position, c.agentId])).toEqual([
        ['queued', 1, null],
        ['queued', 2, null],
      ]);
      expect(await activeCounts(t, team.map((a) => a.id))).toEqual([2, 2, 2]);
      const waitingLog = (await t.http.get(`/api/v1/conversations/${started[6].id}/allocations`).set(bearer(cc.admin)).expect(200)).body;
      expect(waitingLog).toEqual([expect.objectContaining({ outcome: 'queued', agentId: null, trigger: 'conversation-started' })]);
      expect(waitingLog[0].candidates.map((c: { reason: string }) => c.reason)).toEqual(['full', 'full', 'full']);

      const first = started[0];
      const agent = team.find((a) => a.id === first.agentId)!;
      const resolved = await cc.post(`/conversations/${first.id}/resolve`, { notes: 'done' }, agent.token).expect(200);
      expect(resolved.body).toMatchObject({ status: 'resolved', resolvedBy: 'agent', notes: 'done', resolvedAt: expect.any(String) });
      const handed = await eventually(async () => {
        const c = await cc.conversation(started[6].id);
        return c.status === 'active' ? c : null;
      });
      expect(handed.agentId).toBe(agent.id);
      expect((await cc.conversation(started[7].id)).position).toBe(1);
      expect(await activeCounts(t, team.map((a) => a.id))).toEqual([2, 2, 2]);
      const metrics = (await t.http.get('/metrics').expect(200)).text;
      expect(Number(/^cc_allocations_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(7);
      expect(Number(/^cc_conversations_waiting (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    });

    it('with `overflow-any`: all 8 assigned 3/3/2, and still assigned when every agent is logged off', async () => {
      const q = await cc.queue({ overflow: 'overflow-any' });
      const team = await agents(3, q.id);
      for (let i = 0; i < 8; i++) expect((await cc.start({ queueId: q.id })).conversation.status).toBe('active');
      expect((await activeCounts(t, team.map((a) => a.id))).sort()).toEqual([2, 3, 3]);

      const q2 = await cc.queue({ overflow: 'overflow-any' });
      const offline = await agents(2, q2.id);
      for (const a of offline) await cc.post(`/agents/${a.id}/logoff`).expect(200);
      const { conversation } = await cc.start({ queueId: q2.id });
      expect(conversation.status).toBe('active');
      const log = (await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(cc.admin)).expect(200)).body;
      expect(log).toEqual([expect.objectContaining({ outcome: 'overflow', agentId: conversation.agentId, trigger: 'conversation-started' })]);
    });

    it('with `overflow-online`: assigns beyond capacity only to logged-in, unpaused members', async () => {
      const q = await cc.queue({ overflow: 'overflow-online' });
      const [a] = await agents(1, q.id, { maxConcurrent: 1 });
      expect((await cc.start({ queueId: q.id })).conversation.agentId).toBe(a.id);
      expect((await cc.start({ queueId: q.id })).conversation.agentId).toBe(a.id);
      await cc.post(`/agents/${a.id}/pause`).expect(200);
      expect((await cc.start({ queueId: q.id })).conversation.status).toBe('queued');
    });
  });

  it('never assigns to paused, wrapping-up or logged-off agents; they get waiting conversations when they return', async () => {
    const q = await cc.queue();
    const [a] = await agents(1, q.id, { maxConcurrent: 1, wrapUpSeconds: 1 });
    await cc.post(`/agents/${a.id}/pause`).expect(200);
    const waiting = (await cc.start({ queueId: q.id })).conversation;
    expect(waiting.status).toBe('queued');
    await cc.post(`/agents/${a.id}/unpause`).expect(200);
    const served = await eventually(async () => ((await cc.conversation(waiting.id)).status === 'active' ? cc.conversation(waiting.id) : null));
    expect(served.agentId).toBe(a.id);

    // Resolving starts wrap-up (1 s): the next conversation waits, then flows to the agent.
    await cc.post(`/conversations/${waiting.id}/resolve`, {}, a.token).expect(200);
    expect((await cc.status(a.id)).state).toBe('wrap-up');
    const next = (await cc.start({ queueId: q.id })).conversation;
    expect(next.status).toBe('queued');
    const log = (await t.http.get(`/api/v1/conversations/${next.id}/allocations`).set(bearer(cc.admin))).body;
    expect(log[0]).toMatchObject({ outcome: 'queued', candidates: [expect.objectContaining({ agentId: a.id, eligible: false, reason: 'wrap-up' })] });
    await eventually(async () => (await cc.conversation(next.id)).agentId === a.id, 5000);
  });

  it('logoff requeues active conversations at the front of the line, keeping their wait, and re-allocates them', async () => {
    const q = await cc.queue();
    const [a, b] = await agents(2, q.id, { maxConcurrent: 1 });
    const first = (await cc.start({ queueId: q.id })).conversation;
    const second = (await cc.start({ queueId: q.id })).conversation;
    const third = (await cc.start({ queueId: q.id })).conversation;
    expect(third.status).toBe('queued');
    const fromA = first.agentId === a.id ? first : second;
    await cc.post(`/agents/${a.id}/logoff`).expect(200);
    // fromA waited longer than `third`, so it goes first: B is busy, so it waits at position 1.
    const requeued = await cc.conversation(fromA.id);
    expect(requeued).toMatchObject({ status: 'queued', agentId: null, position: 1 });
    expect((await cc.conversation(third.id)).position).toBe(2);
    await cc.post(`/agents/${a.id}/login`).expect(200);
    await eventually(async () => (await cc.conversation(fromA.id)).agentId === a.id);
    expect(b.id).toBeDefined();
  });

  it('deleting an agent returns its conversations to the waiting line', async () => {
    const q = await cc.queue();
    const [a] = await agents(1, q.id);
    const { conversation } = await cc.start({ queueId: q.id });
    expect(conversation.agentId).toBe(a.id);
    await t.http.delete(`/api/v1/agents/${a.id}`).set(bearer(cc.admin)).expect(204);
    expect(await cc.conversation(conversation.id)).toMatchObject({ status: 'queued', agentId: null, position: 1 });
  });

  it('follows each strategy', async () => {
    const rr = await cc.queue({ strategy: 'round-robin' });
    const team = await agents(3, rr.id, { maxConcurrent: 5 });
    const picked: number[] = [];
    for (let i = 0; i < 4; i++) picked.push((await cc.start({ queueId: rr.id })).conversation.agentId);
    const ids = team.map((a) => a.id);
    expect(picked).toEqual([ids[0], ids[1], ids[2], ids[0]]);

    const idle = await cc.queue({ strategy: 'longest-idle' });
    const [x, y] = await agents(2, idle.id, { maxConcurrent: 5 });
    const c1 = (await cc.start({ queueId: idle.id })).conversation.agentId;
    const c2 = (await cc.start({ queueId: idle.id })).conversation.agentId;
    const c3 = (await cc.start({ queueId: idle.id })).conversation.agentId;
    expect([c1, c2, c3]).toEqual([x.id, y.id, x.id]);
  });

  it('respects skills (channels) and routes by channel to the queue that takes it', async () => {
    const wa = await cc.queue({ channels: ['wa'] });
    const [webOnly] = await agents(1, wa.id, { skills: ['web'] });
    const [waAgent] = await agents(1, wa.id, { skills: ['wa'] });
    const { conversation } = await cc.start({ channel: 'wa' });
    expect(conversation).toMatchObject({ queueId: wa.id, channel: 'wa', agentId: waAgent.id });
    const log = (await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(cc.admin))).body;
    expect(log[0].candidates).toEqual(
      expect.arrayContaining([
        { agentId: webOnly.id, eligible: false, reason: 'skill', active: 0, maxConcurrent: 2 },
        { agentId: waAgent.id, eligible: true, reason: 'eligible', active: 0, maxConcurrent: 2 },
      ]),
    );
  });

  it('transfers to an agent or a queue, and lets an admin assign beyond capacity', async () => {
    const q = await cc.queue();
    const [a, b] = await agents(2, q.id, { maxConcurrent: 1 });
    const { conversation, customer } = await cc.start({ queueId: q.id });
    const owner = conversation.agentId === a.id ? a : b;
    const other = owner === a ? b : a;
    await cc.post(`/conversations/${conversation.id}/transfer`, { agentId: other.id }, customer.token).expect(403);
    await cc.post(`/conversations/${conversation.id}/transfer`, { agentId: other.id, queueId: q.id }, owner.token).expect(400);
    const moved = await cc.post(`/conversations/${conversation.id}/transfer`, { agentId: other.id }, owner.token).expect(200);
    expect(moved.body).toMatchObject({ status: 'active', agentId: other.id });
    await cc.post(`/conversations/${conversation.id}/transfer`, { agentId: other.id }, other.token).expect(409);

    const q2 = await cc.queue();
    const toQueue = await cc.post(`/conversations/${conversation.id}/transfer`, { queueId: q2.id }).expect(200);
    expect(toQueue.body).toMatchObject({ status: 'queued', queueId: q2.id, agentId: null, position: 1 });

    const assigned = await cc.post(`/conversations/${conversation.id}/assign`, { agentId: owner.id }).expect(200);
    expect(assigned.body).toMatchObject({ status: 'active', agentId: owner.id });
    const extra = (await cc.start({ queueId: q2.id })).conversation;
    await cc.post(`/conversations/${extra.id}/assign`, { agentId: owner.id }).expect(200);
    expect(await activeCounts(t, [owner.id])).toEqual([2]);
    await cc.post(`/conversations/${extra.id}/assign`, { agentId: owner.id }, owner.token).expect(403);
    await cc.post(`/conversations/${extra.id}/assign`, { agentId: 999999 }).expect(404);
    const log = (await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(owner.token)).expect(200)).body;
    expect(log.map((d: { outcome: string }) => d.outcome)).toEqual(['assigned', 'transfer', 'queued', 'manual']);
  });

  it('previews the agent allocation would pick, with no side effect', async () => {
    const q = await cc.queue();
    const [a] = await agents(1, q.id);
    const preview = await cc.post('/allocation/preview', { queueId: q.id }).expect(200);
    expect(preview.body.agent).toMatchObject({ id: a.id, email: a.email });
    expect(JSON.stringify(preview.body)).not.toMatch(/password/i);
    await cc.post(`/agents/${a.id}/pause`).expect(200);
    const none = await cc.post('/allocation/preview', { queueId: q.id }).expect(404);
    expect(none.body.message).toBe('No agent available');
    expect((await cc.post('/allocation/preview', { queueId: q.id, ignoreAvailability: true }).expect(200)).body.agent.id).toBe(a.id);
    expect(await activeCounts(t, [a.id])).toEqual([0]);
    await cc.post('/allocation/preview', { queueId: q.id }, a.token).expect(403);
  });

  describe('allocation webhook', () => {
    let server: Server;
    let url: string;
    let answer: (body: any) => Promise<{ status: number; body: string } | 'hang'>;
    const received: { signature: string | undefined; body: string }[] = [];

    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res: ServerResponse) => {
        let raw = '';
        req.on('data', (chunk) => (raw += chunk));
        req.on('end', async () => {
          received.push({ signature: req.headers['x-signature'] as string | undefined, body: raw });
          const reply = await answer(JSON.parse(raw));
          if (reply === 'hang') return;
          res.writeHead(reply.status, { 'Content-Type': 'application/json' }).end(reply.body);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/allocate`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('assigns the agent the webhook picks, signs the body, and sends the candidates', async () => {
      const q = await cc.queue({ webhookUrl: url });
      const [a, b] = await agents(2, q.id);
      answer = async () => ({ status: 200, body: JSON.stringify({ agentId: b.id }) });
      received.length = 0;
      const { conversation } = await cc.start({ queueId: q.id });
      expect(conversation.agentId).toBe(b.id);
      const call = received[0];
      expect(call.signature).toBe(`sha256=${createHmac('sha256', WEBHOOK_SECRET).update(call.body).digest('hex')}`);
      expect(JSON.parse(call.body)).toMatchObject({ conversation: { id: conversation.id }, customer: { id: conversation.customerId }, queue: { id: q.id }, candidates: [a.id, b.id] });
      const log = (await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(cc.admin))).body;
      expect(log[0]).toMatchObject({ outcome: 'webhook', agentId: b.id });
    });

    it('leaves the conversation waiting on { agentId: null }', async () => {
      const q = await cc.queue({ webhookUrl: url });
      await agents(1, q.id);
      answer = async () => ({ status: 200, body: JSON.stringify({ agentId: null }) });
      const { conversation } = await cc.start({ queueId: q.id });
      expect(conversation).toMatchObject({ status: 'queued', position: 1 });
    });

    it('falls back to the strategy on a timeout, a non-member, or a non-JSON answer', async () => {
      const q = await cc.queue({ webhookUrl: url, webhookTimeoutMs: 300 });
      const [a] = await agents(1, q.id, { maxConcurrent: 5 });
      const outsider = await cc.agent({ queueIds: [] });
      for (const reply of ['hang', { status: 200, body: JSON.stringify({ agentId: outsider.id }) }, { status: 200, body: 'not json' }] as const) {
        answer = async () => reply;
        const { conversation } = await cc.start({ queueId: q.id });
        expect(conversation.agentId).toBe(a.id);
        const log = (await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(cc.admin))).body;
        expect(log[0]).toMatchObject({ outcome: 'webhook-fallback', agentId: a.id });
      }
    });
  });

  it('60 conversations started at once against 5 agents of capacity 2: exactly 10 active, 50 queued at distinct positions', async () => {
    const q = await cc.queue();
    const team = await agents(5, q.id);
    const customers = await Promise.all(Array.from({ length: 60 }, () => cc.customer()));
    const results = await Promise.all(customers.map((c) => t.http.post('/api/v1/conversations').set(bearer(c.token)).send({ queueId: q.id })));
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
    const bodies = results.map((r) => r.body);
    expect(bodies.filter((c) => c.status === 'active')).toHaveLength(10);
    const positions = bodies.filter((c) => c.status === 'queued').map((c) => c.position);
    expect(new Set(positions).size).toBe(50);
    expect(await activeCounts(t, team.map((a) => a.id))).toEqual([2, 2, 2, 2, 2]);
  });
});

describeWith(['postgres'], 'Allocation across two instances (e2e)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ databaseUrl: a.databaseUrl!, keepDatabase: true });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('never exceeds capacity when two instances allocate concurrently', async () => {
    const cc = new ContactCenter(a, await loginAdmin(a));
    const q = await cc.queue();
    const team: AgentHandle[] = [];
    for (let i = 0; i < 5; i++) team.push(await cc.agent({ maxConcurrent: 2, queueIds: [q.id] }));
    const customers = await Promise.all(Array.from({ length: 60 }, () => cc.customer()));
    const results = await Promise.all(
      customers.map((c, i) => (i % 2 ? a : b).http.post('/api/v1/conversations').set(bearer(c.token)).send({ queueId: q.id })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
    expect(results.filter((r) => r.body.status === 'active')).toHaveLength(10);
    expect(new Set(results.filter((r) => r.body.status === 'queued').map((r) => r.body.position)).size).toBe(50);
    expect(await activeCounts(a, team.map((x) => x.id))).toEqual([2, 2, 2, 2, 2]);

    // Slots freed on one instance are filled, oldest first, without ever exceeding capacity.
    const active = results.filter((r) => r.body.status === 'active').map((r) => r.body);
    await Promise.all(active.slice(0, 4).map((c, i) => (i % 2 ? a : b).http.post(`/api/v1/conversations/${c.id}/resolve`).set(bearer(cc.admin)).send({})));
    await eventually(async () => (await activeCounts(a, team.map((x) => x.id))).every((n) => n === 2));
    const waiting = await a.app.get(DataSource).query(`SELECT count(*)::int AS n FROM conversations WHERE queue_id = $1 AND status = 'queued'`, [q.id]);
    expect(waiting[0].n).toBe(46);
  });
});

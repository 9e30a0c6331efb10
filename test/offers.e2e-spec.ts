import { DataSource } from 'typeorm';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { AgentHandle, ContactCenter, eventually } from './factories/contact-center.factory';
import { closeAll, connect, WsClient } from './utils/ws-client';
import { Candidate, channelFull, channelHasRoomSql } from '../libs/allocation/src/strategies';
import { describeWith } from './utils/requires';

/** Offered + active conversations per agent, straight from the database. */
async function heldSlots(t: TestApp, agentIds: number[]): Promise<number[]> {
  const rows: { agent_id: number; n: number }[] = await t.app
    .get(DataSource)
    .query(`SELECT agent_id, count(*)::int AS n FROM conversations WHERE status IN ('offered', 'active') AND agent_id = ANY($1) GROUP BY agent_id`, [agentIds]);
  return agentIds.map((id) => rows.find((r) => r.agent_id === id)?.n ?? 0);
}

async function outcomes(cc: ContactCenter, conversationId: number): Promise<string[]> {
  const log = (await cc.t.http.get(`/api/v1/conversations/${conversationId}/allocations`).set(bearer(cc.admin)).expect(200)).body;
  return log.map((d: { outcome: string }) => d.outcome);
}

/** Starts a conversation as a new customer and reads it as admins do (the customer's own answer does not show an offer). */
async function startSeenByAdmin(cc: ContactCenter, body: Record<string, unknown>): Promise<{ conversation: any; customer: { id: number; token: string } }> {
  const { conversation, customer } = await cc.start(body);
  return { conversation: await cc.conversation(conversation.id), customer };
}

describe('Offers and channel capacity (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    closeAll(clients);
    await t.close();
  });

  async function socket(token: string, namespace: '/agent' | '/customer' = '/agent'): Promise<WsClient> {
    const { client } = await connect(t.url, namespace, token);
    clients.push(client);
    return client;
  }

  async function team(n: number, queueId: number, body: Record<string, unknown> = {}): Promise<AgentHandle[]> {
    const list: AgentHandle[] = [];
    for (let i = 0; i < n; i++) list.push(await cc.agent({ maxConcurrent: 1, queueIds: [queueId], ...body }));
    return list;
  }

  const offeredTo = async (id: number, agentId?: number) =>
    eventually(async () => {
      const c = await cc.conversation(id);
      return c.status === 'offered' && (agentId === undefined || c.agentId === agentId) ? c : null;
    }, 8000);

  describe('options and validation', () => {
    it('queues take offerTimeoutSeconds (0..600) and pauseOnMissedOffer; agents take channelCapacity', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 30, pauseOnMissedOffer: false });
      expect(q).toMatchObject({ offerTimeoutSeconds: 30, pauseOnMissedOffer: false });
      for (const bad of [{ offerTimeoutSeconds: 601 }, { offerTimeoutSeconds: -1 }, { offerTimeoutSeconds: 1.5 }, { offerTimeoutSeconds: null }, { pauseOnMissedOffer: 'yes' }]) {
        const res = await cc.t.http.patch(`/api/v1/queues/${q.id}`).set(bearer(cc.admin)).send(bad);
        expect([JSON.stringify(bad), res.status]).toEqual([JSON.stringify(bad), 400]);
        expect(JSON.stringify(res.body.message)).toMatch(Object.keys(bad)[0]);
      }
      const patched = await cc.t.http.patch(`/api/v1/queues/${q.id}`).set(bearer(cc.admin)).send({ offerTimeoutSeconds: 0 }).expect(200);
      expect(patched.body).toMatchObject({ offerTimeoutSeconds: 0, pauseOnMissedOffer: false });

      const a = await cc.agent({ channelCapacity: { web: 2, wa: 1 } });
      const read = (await cc.t.http.get(`/api/v1/agents/${a.id}`).set(bearer(cc.admin)).expect(200)).body;
      expect(read).toMatchObject({ channelCapacity: { web: 2, wa: 1 }, status: { activeByChannel: {} } });
      for (const bad of [{ web: 51 }, { web: -1 }, { web: 1.5 }, { 'We b': 1 }, ['web'], null, 'web']) {
        const res = await cc.t.http.patch(`/api/v1/agents/${a.id}`).set(bearer(cc.admin)).send({ channelCapacity: bad }).expect(400);
        expect(JSON.stringify(res.body.message)).toMatch('channelCapacity');
      }
      const changed = await cc.t.http.patch(`/api/v1/agents/${a.id}`).set(bearer(cc.admin)).send({ channelCapacity: { line: 0 } }).expect(200);
      expect(changed.body.channelCapacity).toEqual({ line: 0 });
    });
  });

  describe('offers', () => {
    it('offers to the chosen agent, holds its slot, and the agent accepts over HTTP; the customer hears only the assignment', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a] = await team(1, q.id);
      const agentSocket = await socket(a.token);
      const adminSocket = await socket(cc.admin);
      const customer = await cc.customer();
      const customerSocket = await socket(customer.token, '/customer');
      const started = (await cc.post('/conversations', { queueId: q.id }, customer.token).expect(201)).body;
      // The customer's answer reads as waiting; admins (and the agent) see the offer.
      expect(started).toMatchObject({ status: 'queued', agentId: null, position: 1 });
      expect(started.offerExpiresAt).toBeUndefined();
      const asAdmin = await offeredTo(started.id, a.id);
      expect(asAdmin).toMatchObject({ status: 'offered', agentId: a.id, offerExpiresAt: expect.any(String) });
      expect(new Date(asAdmin.offerExpiresAt).getTime()).toBeGreaterThan(Date.now() + 30_000);

      const offered = await agentSocket.waitFor('conversation.offered', (p) => p.conversation.id === started.id);
      expect(offered).toEqual({ conversation: expect.objectContaining({ id: started.id, status: 'offered' }), expiresAt: asAdmin.offerExpiresAt });
      await adminSocket.waitFor('conversation.offered', (p) => p.conversation.id === started.id);
      // The offer holds the only slot: the agent is busy and the next conversation waits.
      expect(await cc.status(a.id)).toMatchObject({ state: 'busy', activeConversations: 0, offeredConversations: 1 });
      const { conversation: next, customer: nextCustomer } = await startSeenByAdmin(cc, { queueId: q.id });
      // The offered conversation keeps its place in the line (its customer still sees it waiting): the next one waits behind it.
      expect(next).toMatchObject({ status: 'queued', position: 2 });
      const nextSocket = await socket(nextCustomer.token, '/customer');
      expect((await cc.t.http.get(`/api/v1/agents?state=busy&limit=100`).set(bearer(cc.admin)).expect(200)).body.data.map((x: { id: number }) => x.id)).toContain(a.id);
      await cc.post('/allocation/preview', { queueId: q.id }).expect(404);
      const stats = (await cc.t.http.get('/api/v1/stats/queues').set(bearer(cc.admin)).expect(200)).body.find((s: { queueId: number }) => s.queueId === q.id);
      expect(stats).toMatchObject({ waiting: 1, offered: 1, active: 0 });

      // Only the offered agent may answer.
      const other = await cc.agent({ queueIds: [] });
      expect((await cc.post(`/conversations/${started.id}/accept`, {}, other.token).expect(409)).body.message).toBe('No offer');
      await cc.post(`/conversations/${started.id}/accept`, {}).expect(409);
      await cc.post(`/conversations/${started.id}/accept`, {}, customer.token).expect(403);
      await cc.post(`/conversations/999999/accept`, {}, a.token).expect(404);
      expect(customerSocket.all('conversation.assigned')).toHaveLength(0);

      const accepted = (await cc.post(`/conversations/${started.id}/accept`, {}, a.token).expect(200)).body;
      expect(accepted).toMatchObject({ id: started.id, status: 'active', agentId: a.id, assignedAt: expect.any(String) });
      expect(accepted.offerExpiresAt).toBeUndefined();
      await customerSocket.waitFor('conversation.assigned', (p) => p.conversation.id === started.id && p.agent.id === a.id);
      await agentSocket.waitFor('conversation.assigned', (p) => p.conversation.id === started.id);
      // Accepted, it leaves the line only now: the one behind moves up, and its customer hears it.
      await nextSocket.waitFor('conversation.queued', (p) => p.conversation.id === next.id && p.conversation.position === 1);
      expect((await cc.conversation(next.id)).position).toBe(1);
      expect((await cc.post(`/conversations/${started.id}/accept`, {}, a.token).expect(409)).body.message).toBe('No offer');
      await cc.post(`/conversations/${started.id}/decline`, {}, a.token).expect(409);
      expect(await outcomes(cc, started.id)).toEqual(['offered', 'accepted']);
      expect(await cc.status(a.id)).toMatchObject({ state: 'busy', activeConversations: 1, offeredConversations: 0, activeByChannel: { web: 1 } });
    });

    it("shows the customer an offered conversation as while it waited (HTTP and socket); its agent may only accept or decline", async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a] = await team(1, q.id);
      const other = await cc.agent({ queueIds: [] });
      const agentSocket = await socket(a.token);
      const customer = await cc.customer();
      const customerSocket = await socket(customer.token, '/customer');
      const started = (await cc.post('/conversations', { queueId: q.id, text: 'hello?' }, customer.token).expect(201)).body;
      await offeredTo(started.id, a.id);
      const asWaiting = { id: started.id, status: 'queued', agentId: null, position: 1 };

      // Every read of the customer: one conversation, its list, a socket (re)connection.
      const read = (await cc.t.http.get(`/api/v1/conversations/${started.id}`).set(bearer(customer.token)).expect(200)).body;
      expect(read).toMatchObject(asWaiting);
      expect(read.offerExpiresAt).toBeUndefined();
      const list = (await cc.t.http.get('/api/v1/conversations').set(bearer(customer.token)).expect(200)).body.data;
      expect(list).toEqual([expect.objectContaining(asWaiting)]);
      expect(list[0].offerExpiresAt).toBeUndefined();
      // Its filters too: the offer is among its queued conversations, and neither offered nor the agent's.
      const filtered = async (q: string) => (await cc.t.http.get(`/api/v1/conversations?${q}`).set(bearer(customer.token)).expect(200)).body.data.map((c: { id: number }) => c.id);
      expect(await filtered('status=queued')).toEqual([started.id]);
      expect(await filtered('status=offered')).toEqual([]);
      expect(await filtered(`agentId=${a.id}`)).toEqual([]);
      const { ready } = await connect(t.url, '/customer', customer.token).then((r) => (clients.push(r.client), r));
      expect(ready.conversations).toEqual([expect.objectContaining(asWaiting)]);
      expect(JSON.stringify(ready.conversations)).not.toContain('offer');
      // The agent and admins see the offer.
      expect((await cc.t.http.get(`/api/v1/conversations/${started.id}`).set(bearer(a.token)).expect(200)).body).toMatchObject({ status: 'offered', agentId: a.id });
      expect((await cc.t.http.get('/api/v1/conversations').set(bearer(a.token)).expect(200)).body.data).toEqual([expect.objectContaining({ status: 'offered' })]);

      // The offered agent may not act on it before accepting: 409, over HTTP and the socket.
      for (const [path, body] of [
        [`/conversations/${started.id}/messages`, { text: 'too early' }],
        [`/conversations/${started.id}/resolve`, {}],
        [`/conversations/${started.id}/transfer`, { agentId: other.id }],
        [`/conversations/${started.id}/transfer`, { queueId: q.id }],
      ] as const) {
        const res = await cc.post(path, body, a.token);
        expect([path, res.status, res.body.message]).toEqual([path, 409, 'Offer not accepted']);
      }
      expect(await agentSocket.request('message.send', { conversationId: started.id, text: 'too early' })).toMatchObject({ ok: false, error: { statusCode: 409, message: 'Offer not accepted' } });
      expect(await agentSocket.request('conversation.resolve', { conversationId: started.id })).toMatchObject({ ok: false, error: { statusCode: 409 } });
      expect(await agentSocket.request('typing', { conversationId: started.id, typing: true })).toMatchObject({ ok: false, error: { statusCode: 409 } });
      expect(await offeredTo(started.id, a.id)).toMatchObject({ status: 'offered' });
      const history = (await cc.t.http.get(`/api/v1/conversations/${started.id}/messages`).set(bearer(a.token)).expect(200)).body.data;
      expect(history.map((m: { text: string }) => m.text)).toEqual(['hello?']);

      // The customer writes and abandons as while waiting; the offer ends with it, and the one behind moves up.
      const behind = await cc.customer();
      const behindSocket = await socket(behind.token, '/customer');
      const second = (await cc.post('/conversations', { queueId: q.id }, behind.token).expect(201)).body;
      expect(second).toMatchObject({ status: 'queued', position: 2 });
      await cc.post(`/conversations/${started.id}/messages`, { text: 'still there?' }, customer.token).expect(201);
      const resolved = await customerSocket.ok('conversation.resolve', { conversationId: started.id });
      expect(resolved).toMatchObject({ id: started.id, status: 'resolved', agentId: null, resolvedBy: 'customer' });
      await agentSocket.waitFor('conversation.resolved', (p) => p.conversation.id === started.id);
      // The decision log says how the offer ended: withdrawn with its conversation, by the customer.
      const log = (await cc.t.http.get(`/api/v1/conversations/${started.id}/allocations`).set(bearer(cc.admin)).expect(200)).body;
      expect(log.map((d: { outcome: string; trigger: string; agentId: number }) => [d.outcome, d.agentId])).toEqual([['offered', a.id], ['offer-revoked', a.id]]);
      expect(log[1].trigger).toBe('resolved-by-customer');
      // The freed slot goes to the one behind, which first hears it is next.
      await offeredTo(second.id, a.id);
      expect(behindSocket.all('conversation.queued', (p) => p.conversation.id === second.id).map((p) => p.conversation.position)).toContain(2);
      await cc.post(`/conversations/${second.id}/resolve`, {}).expect(200);
      expect((await cc.t.http.get(`/api/v1/conversations/${second.id}/allocations`).set(bearer(cc.admin)).expect(200)).body.at(-1)).toMatchObject({ outcome: 'offer-revoked', trigger: 'resolved-by-admin', agentId: a.id });
      expect(await cc.status(a.id)).toMatchObject({ offeredConversations: 0, state: 'available' });
      expect((await cc.post(`/conversations/${started.id}/accept`, {}, a.token).expect(409)).body.message).toBe('No offer');
    });

    it('accepts and declines over the socket, with error acks for a bad payload or no offer', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a, b] = await team(2, q.id);
      const sa = await socket(a.token);
      const sb = await socket(b.token);
      const first = (await startSeenByAdmin(cc, { queueId: q.id })).conversation;
      const owner = first.agentId === a.id ? sa : sb;
      const notOwner = owner === sa ? sb : sa;
      expect(await notOwner.request('offer.accept', { conversationId: first.id })).toEqual({ ok: false, error: expect.objectContaining({ statusCode: 409, message: 'No offer' }) });
      expect(await owner.request('offer.accept', { conversationId: 'x' })).toMatchObject({ ok: false, error: { statusCode: 400 } });
      expect(await owner.request('offer.accept', { conversationId: first.id, extra: 1 })).toMatchObject({ ok: false, error: { statusCode: 400 } });
      const ack = await owner.request('offer.accept', { conversationId: first.id });
      expect(ack).toMatchObject({ ok: true, data: { id: first.id, status: 'active' } });

      const second = (await startSeenByAdmin(cc, { queueId: q.id })).conversation;
      expect(second.status).toBe('offered');
      const secondOwner = second.agentId === a.id ? sa : sb;
      const declined = await secondOwner.request('offer.decline', { conversationId: second.id });
      expect(declined).toMatchObject({ ok: true, data: { id: second.id } });
      await secondOwner.waitFor('conversation.offer.revoked', (p) => p.conversationId === second.id && p.reason === 'declined');
      const customerSocket = await socket((await cc.customer()).token, '/customer');
      expect(await customerSocket.request('offer.accept', { conversationId: second.id })).toMatchObject({ ok: false, error: { statusCode: 404 } });
    });

    it('a declined offer goes at once to the next agent, and back to the decliner only when nobody else is eligible', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a, b] = await team(2, q.id);
      const { conversation } = await startSeenByAdmin(cc, { queueId: q.id });
      const first = conversation.agentId === a.id ? a : b;
      const second = first === a ? b : a;
      const firstSocket = await socket(first.token);
      const declined = (await cc.post(`/conversations/${conversation.id}/decline`, {}, first.token).expect(200)).body;
      expect(declined).toMatchObject({ id: conversation.id });
      await firstSocket.waitFor('conversation.offer.revoked', (p) => p.conversationId === conversation.id && p.reason === 'declined');
      await offeredTo(conversation.id, second.id);
      // The second declines too: nobody fresh is left, so it is offered to one of them again.
      await cc.post(`/conversations/${conversation.id}/decline`, {}, second.token).expect(200);
      const again = await offeredTo(conversation.id);
      expect([a.id, b.id]).toContain(again.agentId);
      const log = (await t.http.get(`/api/v1/conversations/${conversation.id}/allocations`).set(bearer(cc.admin))).body;
      expect(log.map((d: { outcome: string; agentId: number }) => [d.outcome, d.agentId])).toEqual([
        ['offered', first.id],
        ['declined', first.id],
        ['offered', second.id],
        ['declined', second.id],
        ['offered', again.agentId],
      ]);
    });

    it('an expired offer goes back to the front of its line (keeping its wait) and pauses the agent with "Missed offer"', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 1 });
      const [a] = await team(1, q.id);
      const sa = await socket(a.token);
      const first = (await startSeenByAdmin(cc, { queueId: q.id })).conversation;
      expect(first).toMatchObject({ status: 'offered', agentId: a.id });
      const second = (await startSeenByAdmin(cc, { queueId: q.id })).conversation;
      expect(second).toMatchObject({ status: 'queued', position: 2 });
      await sa.waitFor('conversation.offer.revoked', (p) => p.conversationId === first.id && p.reason === 'expired', 8000);
      const status = await eventually(async () => {
        const s = await cc.status(a.id);
        return s.paused ? s : null;
      });
      expect(status).toMatchObject({ state: 'paused', pauseReason: { name: 'Missed offer' }, offeredConversations: 0 });
      await sa.waitFor('agent.status', (s) => s.paused && s.pauseReason?.name === 'Missed offer');
      expect(await cc.conversation(first.id)).toMatchObject({ status: 'queued', agentId: null, position: 1 });
      expect((await cc.conversation(second.id)).position).toBe(2);
      expect(await outcomes(cc, first.id)).toEqual(['offered', 'offer-expired']);
      const reasons = (await t.http.get('/api/v1/pause-reasons?limit=100').set(bearer(cc.admin))).body.data.filter((r: { name: string }) => r.name === 'Missed offer');
      expect(reasons).toHaveLength(1);
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const report = (await t.http.get(`/api/v1/reports/agents?from=${from}&to=${to}`).set(bearer(cc.admin)).expect(200)).body;
      expect(report.find((r: { agentId: number }) => r.agentId === a.id)).toMatchObject({ missedOffers: 1, assigned: 0 });
      // Back from the pause: the agent is offered the conversation again (nobody else is eligible).
      await cc.post(`/agents/${a.id}/unpause`).expect(200);
      await offeredTo(first.id, a.id);
    });

    it('with pauseOnMissedOffer off, a missed offer does not pause the agent and goes to the next agent', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 1, pauseOnMissedOffer: false });
      const [a, b] = await team(2, q.id);
      const { conversation } = await startSeenByAdmin(cc, { queueId: q.id });
      const first = conversation.agentId;
      const second = first === a.id ? b.id : a.id;
      await offeredTo(conversation.id, second);
      expect(await cc.status(first)).toMatchObject({ paused: false, state: 'available' });
      expect((await outcomes(cc, conversation.id)).slice(0, 3)).toEqual(['offered', 'offer-expired', 'offered']);
    });

    it('revokes an offer when the agent pauses or logs off, and offers it to the next agent', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a, b] = await team(2, q.id);
      const sa = await socket(a.token);
      const sb = await socket(b.token);
      const { conversation } = await startSeenByAdmin(cc, { queueId: q.id });
      const [first, firstSocket, second, secondSocket] = conversation.agentId === a.id ? [a, sa, b, sb] : [b, sb, a, sa];
      await cc.post(`/agents/${first.id}/pause`).expect(200);
      await firstSocket.waitFor('conversation.offer.revoked', (p) => p.conversationId === conversation.id && p.reason === 'paused');
      await offeredTo(conversation.id, second.id);
      await cc.post(`/agents/${second.id}/logoff`).expect(200);
      await secondSocket.waitFor('conversation.offer.revoked', (p) => p.conversationId === conversation.id && p.reason === 'logoff');
      expect(await cc.conversation(conversation.id)).toMatchObject({ status: 'queued', agentId: null, position: 1 });
      await cc.post(`/agents/${first.id}/unpause`).expect(200);
      await offeredTo(conversation.id, first.id);
      // (A drain that finds nobody free may log `queued` in between.)
      expect((await outcomes(cc, conversation.id)).filter((o) => o !== 'queued')).toEqual(['offered', 'offer-revoked', 'offered', 'offer-revoked', 'offered']);
    });

    it('transfer to an agent and manual assignment assign at once in an offer queue', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a, b] = await team(2, q.id, { maxConcurrent: 3 });
      const { conversation } = await startSeenByAdmin(cc, { queueId: q.id });
      expect(conversation.status).toBe('offered');
      const other = conversation.agentId === a.id ? b : a;
      const assigned = (await cc.post(`/conversations/${conversation.id}/assign`, { agentId: other.id }).expect(200)).body;
      expect(assigned).toMatchObject({ status: 'active', agentId: other.id });
      const moved = (await cc.post(`/conversations/${conversation.id}/transfer`, { agentId: conversation.agentId }, other.token).expect(200)).body;
      expect(moved).toMatchObject({ status: 'active', agentId: conversation.agentId });
      expect(await outcomes(cc, conversation.id)).toEqual(['offered', 'manual', 'transfer']);
    });

    it('accept racing expiry: exactly one wins, never both', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 1 });
      const agents = await team(6, q.id);
      const started = await Promise.all(agents.map(() => startSeenByAdmin(cc, { queueId: q.id })));
      const byAgent = new Map(agents.map((x) => [x.id, x]));
      const results = await Promise.all(
        started.map(async ({ conversation }, i) => {
          const owner = byAgent.get(conversation.agentId)!;
          // Aim around the deadline, a little before and a little after.
          const wait = new Date(conversation.offerExpiresAt).getTime() - Date.now() + (i - 3) * 15;
          await new Promise((r) => setTimeout(r, Math.max(0, wait)));
          const res = await cc.post(`/conversations/${conversation.id}/accept`, {}, owner.token);
          return { id: conversation.id, owner: owner.id, status: res.status };
        }),
      );
      for (const r of results) {
        expect([200, 409]).toContain(r.status);
        const log = (await eventually(async () => {
          const list = await outcomes(cc, r.id);
          return list.length >= 2 ? list : null;
        }, 8000))!;
        if (r.status === 200) {
          expect(log).toEqual(['offered', 'accepted']);
          expect(await cc.conversation(r.id)).toMatchObject({ status: 'active', agentId: r.owner });
        } else {
          expect(log.slice(0, 2)).toEqual(['offered', 'offer-expired']);
          expect(log).not.toContain('accepted');
          expect((await cc.conversation(r.id)).status).not.toBe('active');
        }
      }
      expect(await heldSlots(t, agents.map((x) => x.id))).toEqual(agents.map((x) => expect.any(Number)));
      for (const n of await heldSlots(t, agents.map((x) => x.id))) expect(n).toBeLessThanOrEqual(1);
    });
  });

  describe('capacity per channel', () => {
    it('the channel rule in TypeScript (channelFull) and in SQL (channelHasRoomSql) agree on the same cases', async () => {
      const cases: [Record<string, number>, string, number][] = [
        [{}, 'web', 0],
        [{}, 'web', 7],
        [{ web: 2 }, 'web', 1],
        [{ web: 2 }, 'web', 2],
        [{ web: 2 }, 'web', 3],
        [{ web: 2 }, 'wa', 9],
        [{ wa: 0 }, 'wa', 0],
        [{ wa: 1, web: 5 }, 'wa', 1],
        [{ 'x.y:z_1-2': 1 }, 'x.y:z_1-2', 0],
      ];
      const db = t.app.get(DataSource);
      for (const [channelCapacity, channel, held] of cases) {
        const candidate: Candidate = { agentId: 1, skills: [], maxConcurrent: 50, active: held, logged: true, paused: false, wrapUpUntil: null, lastAssignedAt: null, channelCapacity, byChannel: { [channel]: held } };
        const [row]: { room: boolean }[] = await db.query(`SELECT ${channelHasRoomSql('a', '$2::text', '$3::int')} AS room FROM (SELECT $1::jsonb AS channel_capacity) a`, [
          JSON.stringify(channelCapacity),
          channel,
          held,
        ]);
        expect([channelCapacity, channel, held, row.room]).toEqual([channelCapacity, channel, held, !channelFull(candidate, channel)]);
      }
    });

    it('limits offered + active per channel, logs channel-full, and reports activeByChannel', async () => {
      const q = await cc.queue();
      const [a] = await team(1, q.id, { maxConcurrent: 3, channelCapacity: { web: 2, wa: 1 } });
      const wa1 = (await startSeenByAdmin(cc, { queueId: q.id, channel: 'wa' })).conversation;
      const wa2 = (await startSeenByAdmin(cc, { queueId: q.id, channel: 'wa' })).conversation;
      const web1 = (await startSeenByAdmin(cc, { queueId: q.id, channel: 'web' })).conversation;
      const web2 = (await startSeenByAdmin(cc, { queueId: q.id, channel: 'web' })).conversation;
      expect([wa1, wa2, web1, web2].map((c) => c.status)).toEqual(['active', 'queued', 'active', 'active']);
      const log = (await t.http.get(`/api/v1/conversations/${wa2.id}/allocations`).set(bearer(cc.admin))).body;
      expect(log[0]).toMatchObject({ outcome: 'queued', candidates: [expect.objectContaining({ agentId: a.id, eligible: false, reason: 'channel-full', active: 1 })] });
      expect(await cc.status(a.id)).toMatchObject({ state: 'busy', activeConversations: 3, activeByChannel: { wa: 1, web: 2 } });
      await cc.post('/allocation/preview', { queueId: q.id, channel: 'wa' }).expect(404);
      // A web conversation ends: a slot frees, but not on wa, so wa2 keeps waiting.
      await cc.post(`/conversations/${web1.id}/resolve`, {}, a.token).expect(200);
      const web3 = (await startSeenByAdmin(cc, { queueId: q.id, channel: 'web' })).conversation;
      expect(web3.status).toBe('active');
      expect((await cc.conversation(wa2.id)).status).toBe('queued');
      // The wa conversation ends: wa2 takes the wa slot.
      await cc.post(`/conversations/${wa1.id}/resolve`, {}, a.token).expect(200);
      await eventually(async () => (await cc.conversation(wa2.id)).agentId === a.id);
      expect(await cc.status(a.id)).toMatchObject({ activeByChannel: { wa: 1, web: 2 } });
    });

    it('counts offers against the channel capacity', async () => {
      const q = await cc.queue({ offerTimeoutSeconds: 60 });
      const [a] = await team(1, q.id, { maxConcurrent: 5, channelCapacity: { wa: 1 } });
      expect((await startSeenByAdmin(cc, { queueId: q.id, channel: 'wa' })).conversation).toMatchObject({ status: 'offered', agentId: a.id });
      expect((await startSeenByAdmin(cc, { queueId: q.id, channel: 'wa' })).conversation.status).toBe('queued');
      expect((await startSeenByAdmin(cc, { queueId: q.id, channel: 'web' })).conversation).toMatchObject({ status: 'offered', agentId: a.id });
    });

    it('overflow may exceed channel capacities as it exceeds maxConcurrent', async () => {
      const q = await cc.queue({ overflow: 'overflow-online' });
      const [a] = await team(1, q.id, { maxConcurrent: 3, channelCapacity: { wa: 1 } });
      expect((await startSeenByAdmin(cc, { queueId: q.id, channel: 'wa' })).conversation).toMatchObject({ status: 'active', agentId: a.id });
      const over = (await startSeenByAdmin(cc, { queueId: q.id, channel: 'wa' })).conversation;
      expect(over).toMatchObject({ status: 'active', agentId: a.id });
      expect(await outcomes(cc, over.id)).toEqual(['overflow']);
      expect(await cc.status(a.id)).toMatchObject({ activeByChannel: { wa: 2 } });
    });
  });
});

describeWith(['postgres'], 'Offers across two instances (e2e)', () => {
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

  it('a burst split across two instances offers exactly the free slots; the rest wait at distinct positions; nobody is over capacity', async () => {
    const cc = new ContactCenter(a, await loginAdmin(a));
    const q = await cc.queue({ offerTimeoutSeconds: 60 });
    const agents: AgentHandle[] = [];
    for (let i = 0; i < 5; i++) agents.push(await cc.agent({ maxConcurrent: 2, queueIds: [q.id] }));
    const customers = await Promise.all(Array.from({ length: 60 }, () => cc.customer()));
    const results = await Promise.all(customers.map((c, i) => (i % 2 ? a : b).http.post('/api/v1/conversations').set(bearer(c.token)).send({ queueId: q.id })));
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
    const seen = await Promise.all(results.map((r) => cc.conversation(r.body.id)));
    const offered = seen.filter((c) => c.status === 'offered');
    expect(offered).toHaveLength(10);
    // Each customer's answer reads as waiting (an offer is not the customer's to see); the 50 really waiting got distinct places.
    expect(results.filter((r) => r.body.status !== 'queued' || r.body.agentId !== null)).toEqual([]);
    const waiting = new Set(seen.filter((c) => c.status === 'queued').map((c) => c.id));
    expect(new Set(results.filter((r) => waiting.has(r.body.id)).map((r) => r.body.position)).size).toBe(50);
    expect(await heldSlots(a, agents.map((x) => x.id))).toEqual([2, 2, 2, 2, 2]);

    // Every offer accepted, half on each instance: still nobody over capacity, and nothing more is offered.
    const tokens = new Map(agents.map((x) => [x.id, x.token]));
    const accepts = await Promise.all(offered.map((c, i) => (i % 2 ? a : b).http.post(`/api/v1/conversations/${c.id}/accept`).set(bearer(tokens.get(c.agentId)!)).send({})));
    expect(accepts.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await heldSlots(a, agents.map((x) => x.id))).toEqual([2, 2, 2, 2, 2]);

    // Four resolutions free four slots: exactly four new offers, oldest first.
    await Promise.all(offered.slice(0, 4).map((c, i) => (i % 2 ? a : b).http.post(`/api/v1/conversations/${c.id}/resolve`).set(bearer(cc.admin)).send({})));
    await eventually(async () => (await heldSlots(a, agents.map((x) => x.id))).every((n) => n === 2), 8000);
    const db = a.app.get(DataSource);
    const counts = await db.query(`SELECT status, count(*)::int AS n FROM conversations WHERE queue_id = $1 GROUP BY status ORDER BY status`, [q.id]);
    expect(counts).toEqual([
      { status: 'active', n: 6 },
      { status: 'offered', n: 4 },
      { status: 'queued', n: 46 },
      { status: 'resolved', n: 4 },
    ]);
  });

  it('an offer expires exactly once with two instances sweeping', async () => {
    const cc = new ContactCenter(a, await loginAdmin(a));
    const q = await cc.queue({ offerTimeoutSeconds: 1, pauseOnMissedOffer: true });
    const agents: AgentHandle[] = [];
    for (let i = 0; i < 4; i++) agents.push(await cc.agent({ maxConcurrent: 1, queueIds: [q.id] }));
    const started = await Promise.all(agents.map((_, i) => new ContactCenter(i % 2 ? a : b, cc.admin).start({ queueId: q.id })));
    const db = a.app.get(DataSource);
    const ids = started.map((s) => s.conversation.id);
    await eventually(async () => {
      const [row] = await db.query(`SELECT count(*)::int AS n FROM allocation_decisions WHERE conversation_id = ANY($1) AND outcome = 'offer-expired'`, [ids]);
      return row.n >= 4;
    }, 10000);
    // Every agent missed its offer and was paused: nothing is offered again; wait past another sweep of both instances.
    await new Promise((r) => setTimeout(r, 2500));
    const expired = await db.query(
      `SELECT conversation_id, count(*)::int AS n FROM allocation_decisions WHERE conversation_id = ANY($1) AND outcome = 'offer-expired' GROUP BY conversation_id`,
      [ids],
    );
    expect(expired.map((r: { n: number }) => r.n)).toEqual([1, 1, 1, 1]);
    const paused = await db.query(`SELECT count(*)::int AS n FROM agent_state_history WHERE agent_id = ANY($1) AND reason = 'missed-offer'`, [agents.map((x) => x.id)]);
    expect(paused[0].n).toBe(4);
  });

  it('an offer made by an instance that goes away is ended by another instance\'s sweep', async () => {
    const c = await createTestApp({ databaseUrl: a.databaseUrl!, keepDatabase: true });
    const cc = new ContactCenter(c, await loginAdmin(c));
    const q = await cc.queue({ offerTimeoutSeconds: 1, pauseOnMissedOffer: false });
    const agent = await cc.agent({ maxConcurrent: 1, queueIds: [q.id] });
    const { conversation } = await startSeenByAdmin(cc, { queueId: q.id });
    expect(conversation).toMatchObject({ status: 'offered', agentId: agent.id });
    // Its timer for this offer goes with it. (Last in this file, and only the database is asked
    // afterwards: two Nest apps in one process share passport's one registered JWT strategy, the
    // newest app's, which cannot reach its database once that app is closed.)
    await c.close();
    const db = a.app.get(DataSource);
    // Bound: the deadline, plus one sweep period of the instances left (1 s in tests), plus slack.
    const bound = new Date(conversation.offerExpiresAt).getTime() - Date.now() + 1000 + 3000;
    await eventually(async () => {
      const [row] = await db.query(`SELECT count(*)::int AS n FROM allocation_decisions WHERE conversation_id = $1 AND outcome = 'offer-expired'`, [conversation.id]);
      return row.n === 1;
    }, bound);
    // Re-offered at once (to the same agent, the only member; not paused with the option off).
    await eventually(async () => (await db.query(`SELECT status FROM conversations WHERE id = $1`, [conversation.id]))[0].status === 'offered', 5000);
  });
});

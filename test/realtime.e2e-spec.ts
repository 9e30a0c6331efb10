import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { connect, connectError, WsClient } from './utils/ws-client';

describe('Real time (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  async function socket(namespace: '/agent' | '/customer', token: string) {
    const { client, ready } = await connect(t.url, namespace, token);
    open.push(client);
    return { client, ready };
  }

  /** An agent alone in a fresh queue (so other tests' conversations never reach it), with a connected socket. */
  async function agentOnline(body: Record<string, unknown> = {}) {
    const queue = await cc.queue();
    const agent = await cc.agent({ queueIds: [queue.id], ...body });
    const { client, ready } = await socket('/agent', agent.token);
    return { queue, agent, client, ready };
  }

  /** A customer socket that starts a conversation in `queueId` over the socket. */
  async function customerStarts(queueId: number, text?: string) {
    const customer = await cc.customer();
    const { client } = await socket('/customer', customer.token);
    const conversation = await client.ok('conversation.start', { queueId, ...(text ? { text } : {}) });
    return { customer, client, conversation };
  }

  describe('handshake', () => {
    it('admits an agent and an admin on /agent and a customer on /customer, each with a ready', async () => {
      const { agent, ready } = await agentOnline();
      expect(ready).toEqual({
        user: expect.objectContaining({ id: agent.id, role: 'agent', email: agent.email, status: expect.objectContaining({ id: agent.id, logged: true }) }),
        conversations: [],
      });
      const admin = await socket('/agent', cc.admin);
      expect(admin.ready).toEqual({ user: expect.objectContaining({ role: 'admin' }), conversations: [] });
      const customer = await cc.customer();
      const c = await socket('/customer', customer.token);
      expect(c.ready).toEqual({ user: expect.objectContaining({ id: customer.id, role: 'customer' }), conversations: [] });
    });

    it('refuses a missing or invalid token with connect_error "unauthorized"', async () => {
      for (const ns of ['/agent', '/customer']) {
        expect(await connectError(t.url, ns, undefined)).toBe('unauthorized');
        expect(await connectError(t.url, ns, 'not.a.jwt')).toBe('unauthorized');
      }
    });

    it('refuses a token of the wrong role for the namespace', async () => {
      const customer = await cc.customer();
      const agent = await cc.agent({}, { login: false });
      expect(await connectError(t.url, '/agent', customer.token)).toBe('unauthorized');
      expect(await connectError(t.url, '/customer', agent.token)).toBe('unauthorized');
      expect(await connectError(t.url, '/customer', cc.admin)).toBe('unauthorized');
    });

    it('refuses a revoked token, and logout disconnects that user\'s open sockets', async () => {
      const agent = await cc.agent({}, { login: false });
      const tab1 = await socket('/agent', agent.token);
      const tab2 = await socket('/agent', agent.token);
      const gone = Promise.all([tab1.client.disconnected(), tab2.client.disconnected()]);
      await t.http.post('/api/v1/auth/logout').set(bearer(agent.token)).expect(204);
      await gone;
      expect(await connectError(t.url, '/agent', agent.token)).toBe('unauthorized');

      const customer = await cc.customer();
      const c = await socket('/customer', customer.token);
      const customerGone = c.client.disconnected();
      await t.http.post('/api/v1/auth/logout').set(bearer(customer.token)).expect(204);
      await customerGone;
      expect(await connectError(t.url, '/customer', customer.token)).toBe('unauthorized');
    });
  });

  describe('a conversation over sockets', () => {
    it('starts, assigns, carries messages both ways once per socket, relays typing to the other side, resolves', async () => {
      const { queue, agent, client: agentSocket } = await agentOnline();
      const admin = (await socket('/agent', cc.admin)).client;
      const { customer, client: customerSocket, conversation } = await customerStarts(queue.id, 'Hello, I need help');
      expect(conversation).toMatchObject({ customerId: customer.id, agentId: agent.id, status: 'active', queueId: queue.id });

      const assignedToAgent = await agentSocket.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);
      expect(assignedToAgent).toEqual({ conversation: expect.objectContaining({ id: conversation.id, status: 'active' }), agent: { id: agent.id, name: expect.any(String) } });
      await customerSocket.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);
      await admin.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);

      // The opening text is the first message, pushed to the agent.
      const first = await agentSocket.waitFor('message.new', (e) => e.message.conversationId === conversation.id);
      expect(first.message).toMatchObject({ senderType: 'customer', senderId: customer.id, text: 'Hello, I need help', id: expect.any(Number) });

      const fromCustomer = await customerSocket.ok('message.send', { conversationId: conversation.id, text: 'Are you there?' });
      expect(fromCustomer).toMatchObject({ id: expect.any(Number), conversationId: conversation.id, senderType: 'customer', text: 'Are you there?' });
      const fromAgent = await agentSocket.ok('message.send', { conversationId: conversation.id, text: 'Yes, how can I help?' });
      expect(fromAgent.id).toBeGreaterThan(fromCustomer.id);
      await agentSocket.waitFor('message.new', (e) => e.message.id === fromCustomer.id);
      await customerSocket.waitFor('message.new', (e) => e.message.id === fromAgent.id);

      await customerSocket.ok('typing', { conversationId: conversation.id, typing: true });
      expect(await agentSocket.waitFor('typing')).toEqual({ conversationId: conversation.id, senderType: 'customer', typing: true });
      await agentSocket.ok('typing', { conversationId: conversation.id, typing: false });
      expect(await customerSocket.waitFor('typing')).toEqual({ conversationId: conversation.id, senderType: 'agent', typing: false });

      const resolved = await agentSocket.ok('conversation.resolve', { conversationId: conversation.id, notes: 'done' });
      expect(resolved).toMatchObject({ id: conversation.id, status: 'resolved', resolvedBy: 'agent', notes: 'done' });
      for (const s of [agentSocket, customerSocket, admin]) {
        await s.waitFor('conversation.resolved', (e) => e.conversation.id === conversation.id && e.conversation.status === 'resolved');
      }

      const late = await customerSocket.request('message.send', { conversationId: conversation.id, text: 'one more thing' });
      expect(late).toEqual({ ok: false, error: expect.objectContaining({ statusCode: 409, message: expect.any(String) }) });

      await Promise.all([agentSocket.settle(), customerSocket.settle()]);
      const sentBy = new Map([
        [customerSocket, fromCustomer.id],
        [agentSocket, fromAgent.id],
      ]);
      for (const s of [agentSocket, customerSocket]) {
        const ids = s.all('message.new', (e) => e.message.conversationId === conversation.id).map((e) => e.message.id);
        // The sending socket has its message from the ack and is left out of the push (API.md allows either).
        expect(ids).toEqual([first.message.id, fromCustomer.id, fromAgent.id].filter((id) => id !== sentBy.get(s)));
        // Typing goes to the other side only.
        expect(s.all('typing')).toHaveLength(1);
      }
      // Admins see assignments and resolutions, not the messages.
      expect(admin.all('message.new', (e) => e.message.conversationId === conversation.id)).toEqual([]);
    });

    it('delivers every event to each open tab of the agent', async () => {
      const { queue, agent, client: tab1 } = await agentOnline();
      const tab2 = (await socket('/agent', agent.token)).client;
      const { client: customerSocket, conversation } = await customerStarts(queue.id);
      for (const tab of [tab1, tab2]) await tab.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);
      const sent = await customerSocket.ok('message.send', { conversationId: conversation.id, text: 'to both tabs' });
      for (const tab of [tab1, tab2]) await tab.waitFor('message.new', (e) => e.message.id === sent.id);
      await tab1.settle();
      for (const tab of [tab1, tab2]) expect(tab.all('message.new', (e) => e.message.id === sent.id)).toHaveLength(1);
    });

    it("pushes a message to the sender's other tabs, not back to the socket that sent it", async () => {
      const { queue, agent, client: tab1 } = await agentOnline();
      const tab2 = (await socket('/agent', agent.token)).client;
      const { client: customerSocket, conversation } = await customerStarts(queue.id);
      for (const tab of [tab1, tab2]) await tab.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);
      const sent = await tab1.ok('message.send', { conversationId: conversation.id, text: 'from tab 1' });
      await tab2.waitFor('message.new', (e) => e.message.id === sent.id);
      await customerSocket.waitFor('message.new', (e) => e.message.id === sent.id);
      await Promise.all([tab1.settle(), tab2.settle()]);
      expect(tab1.all('message.new', (e) => e.message.id === sent.id)).toEqual([]);
      expect(tab2.all('message.new', (e) => e.message.id === sent.id)).toHaveLength(1);
    });

    it('pushes changes made over HTTP exactly like socket ones (transfer, HTTP message, agent status)', async () => {
      const { queue, agent, client: agentSocket } = await agentOnline();
      const other = await cc.agent({ queueIds: [queue.id] });
      const otherSocket = (await socket('/agent', other.token)).client;
      const admin = (await socket('/agent', cc.admin)).client;
      const customer = await cc.customer();
      const customerSocket = (await socket('/customer', customer.token)).client;
      const started = await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ queueId: queue.id }).expect(201);
      const conversationId = started.body.id;
      const first = started.body.agentId === agent.id ? { a: agent, s: agentSocket } : { a: other, s: otherSocket };
      const second = first.a === agent ? { a: other, s: otherSocket } : { a: agent, s: agentSocket };
      await customerSocket.waitFor('conversation.assigned', (e) => e.conversation.id === conversationId);

      const viaHttp = await t.http.post(`/api/v1/conversations/${conversationId}/messages`).set(bearer(first.a.token)).send({ text: 'over HTTP' }).expect(201);
      await customerSocket.waitFor('message.new', (e) => e.message.id === viaHttp.body.id);

      await t.http.post(`/api/v1/conversations/${conversationId}/transfer`).set(bearer(cc.admin)).send({ agentId: second.a.id }).expect(200);
      const expected = { fromAgentId: first.a.id, toAgentId: second.a.id };
      for (const s of [first.s, second.s, customerSocket]) {
        expect(await s.waitFor('conversation.transferred', (e) => e.conversation.id === conversationId)).toMatchObject(expected);
      }

      await t.http.post(`/api/v1/agents/${agent.id}/pause`).set(bearer(cc.admin)).send({}).expect(200);
      for (const s of [agentSocket, admin]) await s.waitFor('agent.status', (e) => e.id === agent.id && e.paused === true);
      await otherSocket.settle();
      expect(otherSocket.all('agent.status', (e) => e.id === agent.id)).toEqual([]);
    });

    it('tells waiting customers their position and each change of it', async () => {
      const queue = await cc.queue();
      const waiting = [await customerStarts(queue.id), await customerStarts(queue.id), await customerStarts(queue.id)];
      for (const [i, w] of waiting.entries()) {
        expect(w.conversation).toMatchObject({ status: 'queued', position: i + 1 });
        await w.client.waitFor('conversation.queued', (e) => e.conversation.id === w.conversation.id && e.conversation.position === i + 1);
      }
      // The first one leaves the line: the others move up by one, and each hears it once.
      await waiting[0].client.ok('conversation.resolve', { conversationId: waiting[0].conversation.id });
      await waiting[1].client.waitFor('conversation.queued', (e) => e.conversation.position === 1);
      await waiting[2].client.waitFor('conversation.queued', (e) => e.conversation.position === 2);
      await waiting[2].client.settle(500);
      expect(waiting[2].client.all('conversation.queued').map((e) => e.conversation.position)).toEqual([3, 2]);

      // An agent with one slot arrives: the head of the line is assigned, the other moves up.
      const agent = await cc.agent({ queueIds: [queue.id], maxConcurrent: 1 });
      await waiting[1].client.waitFor('conversation.assigned', (e) => e.agent.id === agent.id);
      await waiting[2].client.waitFor('conversation.queued', (e) => e.conversation.position === 1);
    });
  });

  describe('delivery', () => {
    it('a reconnecting customer gets exactly the missed messages from messages.sync, in order', async () => {
      const { queue, client: agentSocket } = await agentOnline();
      const { customer, client: first, conversation } = await customerStarts(queue.id);
      const seen = await first.ok('message.send', { conversationId: conversation.id, text: 'before the break' });
      first.close();

      const missed: number[] = [];
      for (let i = 1; i <= 5; i++) missed.push((await agentSocket.ok('message.send', { conversationId: conversation.id, text: `missed ${i}` })).id);

      const { client: again, ready } = await socket('/customer', customer.token);
      expect(ready.conversations).toEqual([expect.objectContaining({ id: conversation.id, status: 'active' })]);
      const synced = await again.ok('messages.sync', { conversationId: conversation.id, afterId: seen.id });
      expect(synced.map((m: any) => m.id)).toEqual(missed);
      expect(synced.map((m: any) => m.text)).toEqual(['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5']);
    });

    it('stores a retried clientMessageId once and pushes it once', async () => {
      const { queue, client: agentSocket } = await agentOnline();
      const { client: customerSocket, conversation } = await customerStarts(queue.id);
      const payload = { conversationId: conversation.id, text: 'sent twice', clientMessageId: 'widget-1' };
      const [a, b] = [await customerSocket.ok('message.send', payload), await customerSocket.ok('message.send', payload)];
      expect(b).toEqual(a);
      await agentSocket.waitFor('message.new', (e) => e.message.id === a.id);
      await agentSocket.settle();
      expect(agentSocket.all('message.new', (e) => e.message.clientMessageId === 'widget-1')).toHaveLength(1);
      const history = await t.http.get(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(cc.admin)).expect(200);
      expect(history.body.data.filter((m: any) => m.clientMessageId === 'widget-1')).toHaveLength(1);
    });
  });

  describe('bad payloads', () => {
    it('answer error acks with the right status, and the socket stays usable', async () => {
      const { queue, client: agentSocket } = await agentOnline();
      const { client: customerSocket, conversation } = await customerStarts(queue.id);
      const stranger = await customerStarts((await cc.queue()).id);

      const cases: [string, unknown[], number, RegExp?][] = [
        ['message.send', [{}], 400, /conversationId[\s\S]*text|text[\s\S]*conversationId/],
        ['message.send', [{ conversationId: String(conversation.id), text: 5 }], 400, /conversationId/],
        ['message.send', [{ conversationId: conversation.id, text: 'x'.repeat(4001) }], 400, /text/],
        ['message.send', [{ conversationId: conversation.id, text: '' }], 400, /text/],
        ['message.send', [{ conversationId: conversation.id, text: 'hi', extra: true }], 400, /extra/],
        ['message.send', ['just a string'], 400],
        ['message.send', [null], 400],
        ['message.send', [[1, 2]], 400],
        ['message.send', [], 400],
        ['message.send', [{ conversationId: 99_999_999, text: 'hi' }], 404],
        ['message.send', [{ conversationId: stranger.conversation.id, text: 'hi' }], 403],
        ['messages.sync', [{ conversationId: conversation.id, afterId: -1 }], 400, /afterId/],
        ['messages.sync', [{ conversationId: stranger.conversation.id, afterId: 0 }], 403],
        ['conversation.resolve', [{ conversationId: 99_999_999 }], 404],
        ['typing', [{ conversationId: conversation.id, typing: 'yes' }], 400, /typing/],
        ['typing', [{ conversationId: stranger.conversation.id, typing: true }], 403],
        ['conversation.start', [{}], 409],
        ['conversation.start', [{ channel: 5 }], 400, /channel/],
        ['no.such.event', [{}], 404],
      ];
      for (const [event, args, status, message] of cases) {
        const ack = await customerSocket.request(event, ...args);
        expect({ event, args, ack }).toEqual({ event, args, ack: { ok: false, error: expect.objectContaining({ statusCode: status }) } });
        if (message && !ack.ok) expect([ack.error.message].flat().join('; ')).toMatch(message);
      }
      // The open conversation's id comes with a 409 start.
      const again = await customerSocket.request('conversation.start', {});
      expect(!again.ok && again.error.conversationId).toBe(conversation.id);

      // Events without an ack callback are not an error either.
      customerSocket.socket.emit('message.send', { nonsense: true });
      customerSocket.socket.emit('typing', { conversationId: conversation.id, typing: true });
      // Agents cannot start conversations; their namespace has no such event.
      expect(await agentSocket.request('conversation.start', {})).toMatchObject({ ok: false, error: { statusCode: 404 } });

      expect(customerSocket.socket.connected).toBe(true);
      const fine = await customerSocket.ok('message.send', { conversationId: conversation.id, text: 'still here' });
      await agentSocket.waitFor('message.new', (e) => e.message.id === fine.id);
    });
  });

  it('exposes socket metrics', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.text).toMatch(/^cc_sockets_connected\{namespace="\/agent"\} \d+$/m);
    expect(res.text).toMatch(/^cc_sockets_connected\{namespace="\/customer"\} \d+$/m);
    expect(res.text).toMatch(/^cc_socket_ack_seconds_count\{event="message.send"\} [1-9]\d*$/m);
    expect(res.text).toMatch(/^cc_messages_sent_total\{sender_type="customer"\} [1-9]\d*$/m);
  });
});

describe('Message rate limit (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { MESSAGE_RATE_LIMIT: '5' } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  it('answers 429 past MESSAGE_RATE_LIMIT per socket, and recovers after a second', async () => {
    const queue = await cc.queue();
    const customer = await cc.customer();
    const { client } = await connect(t.url, '/customer', customer.token);
    open.push(client);
    const conversation = await client.ok('conversation.start', { queueId: queue.id });
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => client.request('message.send', { conversationId: conversation.id, text: `burst ${i}` })));
    const ok = burst.filter((a) => a.ok).length;
    const limited = burst.filter((a) => !a.ok && a.error.statusCode === 429);
    expect(ok).toBeGreaterThanOrEqual(5);
    expect(ok).toBeLessThanOrEqual(6);
    expect(limited).toHaveLength(12 - ok);

    // Another socket of the same customer has its own allowance.
    const { client: other } = await connect(t.url, '/customer', customer.token);
    open.push(other);
    expect((await other.request('message.send', { conversationId: conversation.id, text: 'other tab' })).ok).toBe(true);

    await new Promise((r) => setTimeout(r, 1100));
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => client.request('message.send', { conversationId: conversation.id, text: `later ${i}` })));
    expect(after.every((a) => a.ok)).toBe(true);
    const stored = await eventually(async () => {
      const res = await t.http.get(`/api/v1/conversations/${conversation.id}/messages?limit=100`).set(bearer(customer.token)).expect(200);
      return res.body.data;
    });
    expect(stored).toHaveLength(ok + 1 + 5);
  });
});

import { AgentClient, ApiError, ClientEvents, CustomerClient, MessageView, RealtimeClient, RestClient } from '@cc/client';
import { rooms, SocketHub } from '../apps/contact-center/src/realtime/server-events';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { createTestApp, loginAdmin, TestApp } from './utils/create-test-app';

/** The SDK (`@cc/client`) against the real server: gapless delivery through cuts, idempotent sends. */
describe('Client SDK (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: RealtimeClient<never>[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  const track = <C extends RealtimeClient<any>>(c: C): C => (open.push(c as never), c);

  function nextEvent<K extends keyof ClientEvents>(client: RealtimeClient<any>, event: K, where: (p: ClientEvents[K]) => boolean = () => true, timeoutMs = 10_000) {
    return new Promise<ClientEvents[K]>((resolve, reject) => {
      const timer = setTimeout(() => (off(), reject(new Error(`no ${event} within ${timeoutMs} ms`))), timeoutMs);
      const off = client.on(event, (p) => {
        if (!where(p)) return;
        clearTimeout(timer);
        off();
        resolve(p);
      });
    });
  }

  /** An agent alone in a fresh queue with an SDK socket, and a customer whose conversation it got. */
  async function chat() {
    const queue = await cc.queue();
    const agentHandle = await cc.agent({ queueIds: [queue.id] });
    const agent = track(new AgentClient({ baseUrl: t.url, token: agentHandle.token }));
    await nextEvent(agent, 'ready');
    const session = await new RestClient({ baseUrl: t.url }).customerSession({ name: 'Ann' });
    const customer = track(new CustomerClient({ baseUrl: t.url, token: session.accessToken }));
    await nextEvent(customer, 'ready');
    const assigned = nextEvent(agent, 'conversation.assigned');
    const conversation = await customer.start({ queueId: queue.id, text: 'hello' });
    expect(conversation.status).toBe('active');
    await assigned;
    return { agent, customer, conversation, customerId: session.customer.id };
  }

  it('delivers all 50 agent messages to the customer exactly once, in order, through a server-side disconnect and a transport close', async () => {
    const { agent, customer, conversation, customerId } = await chat();
    const received: MessageView[] = [];
    customer.on('message.new', ({ message }) => message.senderType === 'agent' && received.push(message));
    const states: string[] = [];
    customer.on('connection', ({ state }) => states.push(state));
    let readies = 0; // after the first one, which came before this handler
    customer.on('ready', () => readies++);
    const hub = t.app.get(SocketHub);

    const sent: MessageView[] = [];
    for (let i = 0; i < 50; i++) {
      if (i === 10) hub.disconnect(rooms.customer(customerId)); // the server cuts the customer's sockets
      if (i === 30) {
        await eventually(async () => readies >= 1 && customer.socket.connected, 10_000); // back after the first cut
        customer.socket.io.engine.close(); // the transport drops under the client
      }
      sent.push(await agent.send(conversation.id, `m${i}`));
    }

    await eventually(async () => received.length >= 50, 20_000);
    await new Promise((r) => setTimeout(r, 500)); // anything duplicated would arrive now
    expect(received.map((m) => m.text)).toEqual(sent.map((m) => m.text));
    expect(received.map((m) => m.id)).toEqual(sent.map((m) => m.id));
    expect(new Set(received.map((m) => m.id)).size).toBe(50);
    expect(states.filter((s) => s === 'disconnected').length).toBeGreaterThanOrEqual(2);
    expect(readies).toBeGreaterThanOrEqual(2); // one ready after each cut
    expect(customer.lastMessageId(conversation.id)).toBe(sent[49].id);
  });

  it('emits the history of a followed conversation once, and later live messages after it', async () => {
    const { agent, customer, conversation } = await chat();
    await agent.send(conversation.id, 'first reply');
    // A second customer tab, opened later, sees the whole conversation once, oldest first.
    const tab = track(new CustomerClient({ baseUrl: t.url, token: (customer.socket.auth as { token: string }).token }));
    const seen: string[] = [];
    tab.on('message.new', ({ message }) => seen.push(message.text));
    await eventually(async () => seen.length >= 2, 10_000);
    await agent.send(conversation.id, 'second reply');
    await eventually(async () => seen.length >= 3, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['hello', 'first reply', 'second reply']);
  });

  it('retries a lost acknowledgement with the same clientMessageId: one stored message', async () => {
    const { customer, conversation } = await chat();
    // A customer tab whose first acknowledgement is lost on the way (the server did store the message).
    const quick = track(new CustomerClient({ baseUrl: t.url, token: (customer.socket.auth as { token: string }).token, ackTimeoutMs: 1000 }));
    await nextEvent(quick, 'ready');
    await quick.sync(conversation.id); // its own acks are done before the one to lose
    const quickSocket = quick.socket as unknown as { onack(packet: unknown): void };
    const quickOnack = quickSocket.onack.bind(quickSocket);
    let quickAcks = 0;
    quickSocket.onack = (packet) => (++quickAcks === 1 ? undefined : quickOnack(packet));

    const message = await quick.send(conversation.id, 'once, please');
    expect(quickAcks).toBe(2); // the first ack was dropped, the retry answered
    const rest = new RestClient({ baseUrl: t.url, token: cc.admin });
    const stored = (await rest.messages(conversation.id, { limit: 100 })).data.filter((m) => m.text === 'once, please');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toEqual(message);
  });

  it('rejects an error ack with its status at once (no retry), e.g. a send into a resolved conversation', async () => {
    const { agent, customer, conversation } = await chat();
    await agent.resolve(conversation.id);
    const err = await customer.send(conversation.id, 'too late').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.statusCode).toBe(409);
  });

  it("GET /conversations/:id/customer names the customer to the conversation's agent and admins only", async () => {
    const { agent, conversation, customerId } = await chat();
    const own = new RestClient({ baseUrl: t.url, token: (agent.socket.auth as { token: string }).token });
    expect(await own.conversationCustomer(conversation.id)).toEqual(expect.objectContaining({ id: customerId, name: 'Ann' }));
    const admin = new RestClient({ baseUrl: t.url, token: cc.admin });
    expect(await admin.conversationCustomer(conversation.id)).toEqual({ id: customerId, name: 'Ann', email: null, externalId: null });
    const mine = await admin.conversation(conversation.id);
    const agentToken = await cc.agent({}, { login: false });
    const other = new RestClient({ baseUrl: t.url, token: agentToken.token });
    expect((await other.conversationCustomer(conversation.id).catch((e) => e)).statusCode).toBe(403);
    expect((await admin.conversationCustomer(2_000_000_000).catch((e) => e)).statusCode).toBe(404);
    expect(mine.customerId).toBe(customerId);
  });

  it('says unauthorized for a revoked token and stops reconnecting', async () => {
    const queue = await cc.queue();
    const handle = await cc.agent({ queueIds: [queue.id] });
    const agent = track(new AgentClient({ baseUrl: t.url, token: handle.token }));
    await nextEvent(agent, 'ready');
    const unauthorized = nextEvent(agent, 'connection', (c) => c.state === 'unauthorized');
    await new RestClient({ baseUrl: t.url, token: handle.token }).logout();
    await unauthorized;
    expect(agent.state).toBe('unauthorized');
  });
});

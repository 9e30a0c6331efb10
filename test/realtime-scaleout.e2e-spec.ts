import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { connect, connectError, WsClient } from './utils/ws-client';
import { describeWith } from './utils/requires';

const redisUrl = process.env.REDIS_URL;
const GRACE_SECONDS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Two instances need one PostgreSQL database (the embedded engine is one process's) and Redis.
describeWith(['postgres', 'redis'], 'Real time on two instances with Redis (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl!, PRESENCE_GRACE_SECONDS: String(GRACE_SECONDS) };
    a = await createTestApp({ env });
    b = await createTestApp({ env, databaseUrl: a.databaseUrl!, keepDatabase: true });
    cc = new ContactCenter(a, await loginAdmin(a));
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await b?.close();
    await a?.close();
  });

  async function socket(app: TestApp, namespace: '/agent' | '/customer', token: string) {
    const { client, ready } = await connect(app.url, namespace, token);
    open.push(client);
    return { client, ready };
  }

  it('carries assignment, messages and typing between a customer on A and an agent on B', async () => {
    const queue = await cc.queue();
    const agent = await cc.agent({ queueIds: [queue.id] });
    const customer = await cc.customer();
    const { client: agentOnB } = await socket(b, '/agent', agent.token);
    const { client: adminOnB } = await socket(b, '/agent', cc.admin);
    const { client: customerOnA } = await socket(a, '/customer', customer.token);

    const conversation = await customerOnA.ok('conversation.start', { queueId: queue.id, text: 'from A' });
    expect(conversation).toMatchObject({ status: 'active', agentId: agent.id });
    await agentOnB.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id && e.agent.id === agent.id);
    await adminOnB.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);
    await agentOnB.waitFor('message.new', (e) => e.message.conversationId === conversation.id && e.message.text === 'from A');

    const fromAgent = await agentOnB.ok('message.send', { conversationId: conversation.id, text: 'from B' });
    await customerOnA.waitFor('message.new', (e) => e.message.id === fromAgent.id);
    const fromCustomer = await customerOnA.ok('message.send', { conversationId: conversation.id, text: 'back to B' });
    await agentOnB.waitFor('message.new', (e) => e.message.id === fromCustomer.id);

    await agentOnB.ok('typing', { conversationId: conversation.id, typing: true });
    await customerOnA.waitFor('typing', (e) => e.conversationId === conversation.id && e.senderType === 'agent');

    await customerOnA.ok('conversation.resolve', { conversationId: conversation.id });
    await agentOnB.waitFor('conversation.resolved', (e) => e.conversation.id === conversation.id);

    await Promise.all([agentOnB.settle(), customerOnA.settle()]);
    for (const s of [agentOnB, customerOnA]) {
      const ids = s.all('message.new', (e) => e.message.conversationId === conversation.id).map((e) => e.message.id);
      expect(new Set(ids).size).toBe(ids.length);
      // The opening text and the other side's message; a sender's own socket is left out of the push of its message.
      expect(ids).toHaveLength(2);
    }
  });

  it('logout on A disconnects the user\'s sockets on B and refuses the token on both', async () => {
    const agent = await cc.agent({}, { login: false });
    const { client: onB } = await socket(b, '/agent', agent.token);
    const gone = onB.disconnected();
    await a.http.post('/api/v1/auth/logout').set(bearer(agent.token)).expect(204);
    await gone;
    expect(await connectError(a.url, '/agent', agent.token)).toBe('unauthorized');
    expect(await connectError(b.url, '/agent', agent.token)).toBe('unauthorized');
  });

  it('counts the agent\'s sockets on every instance for the presence grace', async () => {
    const agent = await cc.agent();
    const { client: onA } = await socket(a, '/agent', agent.token);
    const { client: onB } = await socket(b, '/agent', agent.token);
    onA.close();
    await sleep(GRACE_SECONDS * 1000 + 2000);
    expect(await cc.status(agent.id)).toMatchObject({ logged: true });
    onB.close();
    await eventually(async () => !(await cc.status(agent.id)).logged, GRACE_SECONDS * 1000 + 4000, 200);
  });
});

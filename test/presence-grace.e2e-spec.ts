import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { connect, WsClient } from './utils/ws-client';

const GRACE_SECONDS = 2;
// Past the grace plus one sweep period (grace/2) plus slack: by then a logoff would have happened.
const PAST_GRACE_MS = GRACE_SECONDS * 1000 + 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Presence grace (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { PRESENCE_GRACE_SECONDS: String(GRACE_SECONDS) } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  async function tab(token: string): Promise<WsClient> {
    const { client } = await connect(t.url, '/agent', token);
    open.push(client);
    return client;
  }

  /** An agent alone in a fresh queue, with one active conversation of a connected customer. */
  async function agentWithConversation() {
    const queue = await cc.queue();
    const agent = await cc.agent({ queueIds: [queue.id] });
    const customer = await cc.customer();
    const { client: customerSocket } = await connect(t.url, '/customer', customer.token);
    open.push(customerSocket);
    const conversation = await customerSocket.ok('conversation.start', { queueId: queue.id });
    expect(conversation).toMatchObject({ status: 'active', agentId: agent.id });
    return { agent, customerSocket, conversation };
  }

  it('leaves an agent logged in over HTTP that never connected a socket', async () => {
    const agent = await cc.agent();
    await sleep(PAST_GRACE_MS);
    expect(await cc.status(agent.id)).toMatchObject({ logged: true });
  });

  it('never changes explicit presence because sockets come and go', async () => {
    const loggedOff = await cc.agent({}, { login: false });
    (await tab(loggedOff.token)).close();
    const paused = await cc.agent();
    await cc.post(`/agents/${paused.id}/pause`).expect(200);
    const first = await tab(paused.token);
    const second = await tab(paused.token);
    first.close();
    await sleep(300);
    expect(await cc.status(loggedOff.id)).toMatchObject({ logged: false });
    expect(await cc.status(paused.id)).toMatchObject({ logged: true, paused: true, state: 'paused' });
    second.close();
    await sleep(300);
    // A reconnect inside the grace restores nothing and changes nothing.
    const back = await tab(paused.token);
    await sleep(PAST_GRACE_MS);
    expect(await cc.status(paused.id)).toMatchObject({ logged: true, paused: true });
    back.close();
  });

  it('keeps the agent logged in while one of two tabs stays open', async () => {
    const { agent, conversation } = await agentWithConversation();
    const first = await tab(agent.token);
    const second = await tab(agent.token);
    first.close();
    await sleep(PAST_GRACE_MS);
    expect(await cc.status(agent.id)).toMatchObject({ logged: true });
    expect(await cc.conversation(conversation.id)).toMatchObject({ status: 'active', agentId: agent.id });
    second.close();
  });

  it('logs the agent off once the grace passes with no tab, and requeues its conversations', async () => {
    const { agent, customerSocket, conversation } = await agentWithConversation();
    const first = await tab(agent.token);
    const second = await tab(agent.token);
    first.close();
    second.close();
    const closedAt = Date.now();
    await eventually(async () => !(await cc.status(agent.id)).logged, PAST_GRACE_MS + 2000, 200);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 100);
    expect(await cc.conversation(conversation.id)).toMatchObject({ status: 'queued', agentId: null });
    // The customer hears it is waiting again.
    const queued = await customerSocket.waitFor('conversation.queued', (e) => e.conversation.id === conversation.id);
    expect(queued.conversation).toMatchObject({ status: 'queued', position: 1 });
  });

  it('keeps everything as it was when a tab comes back inside the grace', async () => {
    const { agent, conversation } = await agentWithConversation();
    (await tab(agent.token)).close();
    await sleep((GRACE_SECONDS * 1000) / 2);
    const back = await tab(agent.token);
    await sleep(PAST_GRACE_MS);
    expect(await cc.status(agent.id)).toMatchObject({ logged: true });
    expect(await cc.conversation(conversation.id)).toMatchObject({ status: 'active', agentId: agent.id });
    back.close();
  });

  it('applies to an agent whose console was connected before it logged in', async () => {
    const agent = await cc.agent({}, { login: false });
    const console = await tab(agent.token);
    await cc.post(`/agents/${agent.id}/login`).expect(200);
    await console.waitFor('agent.status', (s) => s.logged === true);
    await sleep(200);
    console.close();
    await eventually(async () => !(await cc.status(agent.id)).logged, PAST_GRACE_MS + 2000, 200);
  });
});

describe('Presence grace across a restart (e2e)', () => {
  const env = { PRESENCE_GRACE_SECONDS: String(GRACE_SECONDS) };
  let first: TestApp | undefined;
  let second: TestApp | undefined;
  const open: WsClient[] = [];

  afterAll(async () => {
    for (const c of open) c.close();
    await first?.close();
    await second?.close();
  });

  it('finishes a grace started before the restart, and starts one for sockets the restart cut', async () => {
    first = await createTestApp({ env, keepDatabase: true });
    let cc = new ContactCenter(first, await loginAdmin(first));
    const left = await cc.agent();
    const cut = await cc.agent();
    const telephony = await cc.agent();
    const { client: leftTab } = await connect(first.url, '/agent', left.token);
    const { client: cutTab } = await connect(first.url, '/agent', cut.token);
    open.push(leftTab, cutTab);
    leftTab.close();
    await sleep(300);
    await first.close();
    const { databaseUrl, dataDir } = first;
    first = undefined;

    second = await createTestApp({ env, ...(databaseUrl ? { databaseUrl } : { dataDir: dataDir! }) });
    cc = new ContactCenter(second, await loginAdmin(second));
    await eventually(async () => !(await cc.status(left.id)).logged && !(await cc.status(cut.id)).logged, PAST_GRACE_MS + 3000, 200);
    expect(await cc.status(telephony.id)).toMatchObject({ logged: true });
  });
});

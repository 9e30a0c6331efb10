import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { sleep } from './utils/free-port';

const SWEEP_MS = 1000;
const SLOW_MS = 4000;

type Reply = (body: any) => Promise<{ status: number; body: string | Buffer } | 'hang'>;

// API.md section 10 "Allocation webhook": slow, huge and waiting webhooks.
describe('Allocation webhook faults (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  let server: Server;
  let url: string;
  const replies = new Map<string, Reply>();
  const calls = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const name = req.url!.slice(1);
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', async () => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        const reply = await replies.get(name)!(JSON.parse(raw));
        if (reply === 'hang') return;
        res.writeHead(reply.status, { 'Content-Type': 'application/json' }).end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await createTestApp({ env: { ALLOCATION_SWEEP_MS: String(SWEEP_MS) } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    await t?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const allocations = async (id: number) => (await t.http.get(`/api/v1/conversations/${id}/allocations`).set(bearer(cc.admin)).expect(200)).body;

  it('a slow webhook on a high-priority queue does not delay a conversation of another queue', async () => {
    replies.set('slow', async () => {
      await sleep(SLOW_MS);
      return { status: 200, body: JSON.stringify({ agentId: null }) };
    });
    const slowQueue = await cc.queue({ webhookUrl: `${url}/slow`, webhookTimeoutMs: SLOW_MS + 2000, priority: 10 });
    const plainQueue = await cc.queue();
    const agent = await cc.agent({ queueIds: [slowQueue.id, plainQueue.id], maxConcurrent: 1, wrapUpSeconds: 0 });
    const busy = await cc.start({ queueId: plainQueue.id });
    expect(busy.conversation.agentId).toBe(agent.id);

    // Both wait for the one agent: the webhook's customer (asked at start, answered "wait") and a plain one.
    const viaWebhook = await cc.start({ queueId: slowQueue.id });
    expect(viaWebhook.conversation.status).toBe('queued');
    const plain = await cc.start({ queueId: plainQueue.id });
    expect(plain.conversation.status).toBe('queued');

    // A slot frees: the drain consults the slow webhook (priority 10 first) but must not wait for it.
    await cc.post(`/conversations/${busy.conversation.id}/resolve`, {}, agent.token).expect(200);
    const freed = Date.now();
    await eventually(async () => (await cc.conversation(plain.conversation.id)).status === 'active', SLOW_MS - 1000, 50);
    expect(Date.now() - freed).toBeLessThan(SLOW_MS);
    expect((await cc.conversation(plain.conversation.id)).agentId).toBe(agent.id);
  });

  it('an answer over 64 KB counts as an error: the strategy decides, and the body is not read to the end', async () => {
    const queue = await cc.queue({ webhookUrl: `${url}/huge`, webhookTimeoutMs: 5000 });
    const [a, b] = [await cc.agent({ queueIds: [queue.id], maxConcurrent: 5 }), await cc.agent({ queueIds: [queue.id], maxConcurrent: 5 })];
    // Valid JSON naming agent b, padded past the cap: without the cap, b would be taken.
    replies.set('huge', async () => ({ status: 200, body: JSON.stringify({ agentId: b.id, pad: 'x'.repeat(5 * 1024 * 1024) }) }));
    const { conversation } = await cc.start({ queueId: queue.id });
    expect(conversation.status).toBe('active');
    expect((await allocations(conversation.id))[0]).toMatchObject({ outcome: 'webhook-fallback' });
    expect([a.id, b.id]).toContain(conversation.agentId);
    // Just under the cap is an answer like any other.
    replies.set('huge', async () => ({ status: 200, body: JSON.stringify({ agentId: b.id, pad: 'x'.repeat(60 * 1024) }) }));
    const second = await cc.start({ queueId: queue.id });
    expect(second.conversation.agentId).toBe(b.id);
    expect((await allocations(second.conversation.id))[0]).toMatchObject({ outcome: 'webhook' });
  });

  it('a conversation whose webhook is being asked at its start is not asked a second time meanwhile by a drain or a sweep', async () => {
    replies.set('hold', async () => {
      await sleep(SWEEP_MS * 1.5);
      return { status: 200, body: JSON.stringify({ agentId: null }) };
    });
    const queue = await cc.queue({ webhookUrl: `${url}/hold`, webhookTimeoutMs: SWEEP_MS * 3 });
    const agent = await cc.agent({ queueIds: [queue.id], maxConcurrent: 2 });
    const started = cc.start({ queueId: queue.id });
    await eventually(async () => calls.get('hold') === 1, SWEEP_MS * 2, 20);
    // The conversation is stored and queued while its start waits for the webhook: a drain (more
    // capacity) and a sweep both see it.
    await t.http.patch(`/api/v1/agents/${agent.id}`).set(bearer(cc.admin)).send({ maxConcurrent: 3 }).expect(200);
    const { conversation } = await started;
    expect(conversation.status).toBe('queued');
    expect(calls.get('hold')).toBe(1);
  });

  it('a conversation left waiting ({ agentId: null }) is asked again only when a slot frees, not on every sweep', async () => {
    replies.set('wait', async () => ({ status: 200, body: JSON.stringify({ agentId: null }) }));
    const queue = await cc.queue({ webhookUrl: `${url}/wait` });
    const agent = await cc.agent({ queueIds: [queue.id], maxConcurrent: 2 });
    const { conversation } = await cc.start({ queueId: queue.id });
    expect(conversation.status).toBe('queued');
    expect(calls.get('wait')).toBe(1);

    // Several sweeps pass with the agent free all along: no new question.
    await sleep(SWEEP_MS * 3.5);
    expect(calls.get('wait')).toBe(1);

    // A slot frees (here: more capacity): asked again, once.
    await t.http.patch(`/api/v1/agents/${agent.id}`).set(bearer(cc.admin)).send({ maxConcurrent: 3 }).expect(200);
    await eventually(async () => calls.get('wait')! >= 2, SWEEP_MS * 3);
    await sleep(SWEEP_MS * 2.5);
    expect(calls.get('wait')).toBeLessThanOrEqual(3);

    replies.set('wait', async () => ({ status: 200, body: JSON.stringify({ agentId: agent.id }) }));
    await t.http.patch(`/api/v1/agents/${agent.id}`).set(bearer(cc.admin)).send({ maxConcurrent: 4 }).expect(200);
    await eventually(async () => (await cc.conversation(conversation.id)).status === 'active', SWEEP_MS * 4);
  });
});

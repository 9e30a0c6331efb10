import { PUSHES_PER_TURN, QueuePositions } from '../apps/contact-center/src/realtime/queue-positions';
import { SocketHub } from '../apps/contact-center/src/realtime/server-events';
import { ContactCenter } from './factories/contact-center.factory';
import { createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { closeAll, connect, WsClient } from './utils/ws-client';

/** A line longer than two slices of pushes, so that a recompute leaves in three turns of the event loop. */
const LINE = PUSHES_PER_TURN * 2 + 20;

interface Waiter {
  client: WsClient;
  conversationId: number;
  customerId: number;
}

describe('Queue positions pushed in slices (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];
  /** Every `conversation.queued` in the order this process received them, over all sockets. */
  const arrivals: { conversationId: number; position: number }[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    closeAll(open);
    await t?.close();
  });

  /** `n` customers with sockets waiting in a fresh queue, each having heard its first place (1..n). */
  async function line(n: number): Promise<{ queueId: number; waiters: Waiter[] }> {
    const queue = await cc.queue();
    const customers: { id: number; token: string }[] = [];
    const clients: WsClient[] = [];
    // A few at a time: a loaded machine answers hundreds of handshakes at once slowly.
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => cc.customer()));
      customers.push(...batch);
      const connected = await Promise.all(batch.map(async (c) => (await connect(t.url, '/customer', c.token)).client));
      open.push(...connected);
      clients.push(...connected);
    }
    const waiters: Waiter[] = [];
    // One after the other, so that the places are 1..n in this order.
    for (const [i, client] of clients.entries()) {
      const conversation = await client.ok('conversation.start', { queueId: queue.id });
      expect(conversation).toMatchObject({ status: 'queued', position: i + 1 });
      client.socket.on('conversation.queued', (e: any) => arrivals.push({ conversationId: e.conversation.id, position: e.conversation.position }));
      waiters.push({ client, conversationId: conversation.id, customerId: customers[i].id });
    }
    await Promise.all(waiters.map((w, i) => w.client.waitFor('conversation.queued', (e) => e.conversation.position === i + 1)));
    return { queueId: queue.id, waiters };
  }

  const positionsHeard = (w: Waiter) => w.client.all('conversation.queued', (e) => e.conversation.id === w.conversationId).map((e) => e.conversation.position);

  it('tells every customer of a long line its new place once, the front of the line first', async () => {
    const { waiters } = await line(LINE);
    const from = arrivals.length;
    await waiters[0].client.ok('conversation.resolve', { conversationId: waiters[0].conversationId });
    const rest = waiters.slice(1);
    await Promise.all(rest.map((w, i) => w.client.waitFor('conversation.queued', (e) => e.conversation.position === i + 1, 10_000)));
    await rest[rest.length - 1].client.settle(500);
    for (const [i, w] of rest.entries()) expect(positionsHeard(w)).toEqual([i + 2, i + 1]);
    expect(positionsHeard(waiters[0])).toEqual([1]);
    // The recompute went out in slices, front first: the first slice arrived before any of the last.
    const pushed = arrivals.slice(from).filter((a) => rest.some((w) => w.conversationId === a.conversationId));
    expect(pushed).toHaveLength(rest.length);
    const firstSlice = new Set(rest.slice(0, PUSHES_PER_TURN).map((w) => w.conversationId));
    const lastSlice = new Set(rest.slice(2 * PUSHES_PER_TURN).map((w) => w.conversationId));
    const lastOfFirst = Math.max(...pushed.map((a, i) => (firstSlice.has(a.conversationId) ? i : -1)));
    const firstOfLast = Math.min(...pushed.map((a, i) => (lastSlice.has(a.conversationId) ? i : Infinity)));
    expect(lastOfFirst).toBeLessThan(firstOfLast);
  });

  it('ends with every customer knowing its final place after several heads leave at once', async () => {
    const { waiters } = await line(LINE);
    const leaving = waiters.slice(0, 3);
    await Promise.all(leaving.map((w) => w.client.ok('conversation.resolve', { conversationId: w.conversationId })));
    const rest = waiters.slice(3);
    await Promise.all(rest.map((w, i) => w.client.waitFor('conversation.queued', (e) => e.conversation.position === i + 1, 10_000)));
    await rest[rest.length - 1].client.settle(500);
    // Each one's last news is its final place, and it only ever moved forward (never the same place twice).
    const wrong = rest.map((w, i) => ({ final: i + 1, heard: positionsHeard(w) })).filter(({ final, heard }) => heard[heard.length - 1] !== final || heard.some((p, k) => k > 0 && p >= heard[k - 1]));
    expect(wrong).toEqual([]);
  });

  it('does not send a place to a conversation that left the line while the slices before it went out', async () => {
    const { waiters } = await line(LINE);
    const hub = t.app.get(SocketHub);
    const positions = t.app.get(QueuePositions);
    const back = waiters[waiters.length - 1];
    const send = hub.send.bind(hub);
    let first = true;
    // The back of the line leaves (as an assignment on this instance would tell it) right after the first push of the recompute.
    hub.send = ((...args: Parameters<SocketHub['send']>) => {
      send(...args);
      if (args[1] === 'conversation.queued' && first) {
        first = false;
        positions.left(back.conversationId);
      }
    }) as SocketHub['send'];
    try {
      await waiters[0].client.ok('conversation.resolve', { conversationId: waiters[0].conversationId });
      const rest = waiters.slice(1, -1);
      await Promise.all(rest.map((w, i) => w.client.waitFor('conversation.queued', (e) => e.conversation.position === i + 1, 10_000)));
      await back.client.settle(500);
    } finally {
      hub.send = send;
    }
    expect(first).toBe(false);
    expect(positionsHeard(back)).toEqual([LINE]);
  });
});

import { DataSource } from 'typeorm';
import { MessagesRepository } from '@cc/conversations';
import { MessageWriter } from '../libs/conversations/src/message-writer';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { closeAll, connect, WsClient } from './utils/ws-client';

const LANES = 4;
const CONVERSATIONS = 6;
const PER_CONVERSATION = 25;
/** All sends fly at once: on a loaded machine their acks may take longer than the client's usual 5 s. */
const ACK_WAIT_MS = 30_000;

/*
 * Several message batches in flight at once, never two with the same conversation (MessageWriter).
 * What must hold is per conversation: ids ascend in the order a sender's messages were sent,
 * pushes of a conversation come in id order, and a reader that has seen message N of a
 * conversation finds every earlier message of it (messages.sync, GET ...messages?after=).
 */
describe('Message lanes (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { MESSAGE_WRITE_LANES: String(LANES) } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    closeAll(open);
    await t?.close();
  });

  async function socket(namespace: '/agent' | '/customer', token: string): Promise<WsClient> {
    const { client } = await connect(t.url, namespace, token);
    open.push(client);
    return client;
  }

  /** An agent alone in a fresh queue with a customer's conversation assigned to it, both connected. */
  async function pair() {
    const queue = await cc.queue();
    const agentHandle = await cc.agent({ queueIds: [queue.id] });
    const agent = await socket('/agent', agentHandle.token);
    const customerHandle = await cc.customer();
    const customer = await socket('/customer', customerHandle.token);
    const conversation = await customer.ok('conversation.start', { queueId: queue.id });
    await agent.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);
    return { agent, customer, customerId: customerHandle.id, conversationId: conversation.id as number };
  }

  async function acked<T>(client: WsClient, event: string, payload: unknown): Promise<T> {
    const ack = await client.socket.timeout(ACK_WAIT_MS).emitWithAck(event, payload);
    if (!ack.ok) throw new Error(`${event} failed: ${JSON.stringify(ack.error)}`);
    return ack.data;
  }

  it('runs the configured lanes', () => {
    expect(t.app.get(MessageWriter).lanes).toBe(LANES);
  });

  it('keeps each conversation in order while many write at once: ids ascend in send and push order, and a reader that saw N misses nothing before it', async () => {
    const pairs = await Promise.all(Array.from({ length: CONVERSATIONS }, () => pair()));

    // On each push, the agent asks at once what the conversation holds up to it (the reader's
    // view when it has seen that message), over the socket and over HTTP alternately.
    const seenAtPush = new Map<number, Promise<number[]>>();
    const syncs: Promise<unknown>[] = [];
    for (const p of pairs) {
      let n = 0;
      p.agent.socket.on('message.new', (e: { message: { id: number; conversationId: number } }) => {
        const { id, conversationId } = e.message;
        const read =
          n++ % 2 === 0
            ? acked<{ id: number }[]>(p.agent, 'messages.sync', { conversationId, afterId: 0 }).then((ms) => ms.map((m) => m.id))
            : t.http
                .get(`/api/v1/conversations/${conversationId}/messages?after=0&limit=100`)
                .set(bearer(cc.admin))
                .then((res) => (res.body.data as { id: number }[]).map((m) => m.id));
        seenAtPush.set(id, read);
        syncs.push(read);
      });
    }

    // Every customer fires its messages without waiting for an ack, all conversations at once.
    const acks = await Promise.all(
      pairs.map((p) => Promise.all(Array.from({ length: PER_CONVERSATION }, (_, i) => acked<any>(p.customer, 'message.send', { conversationId: p.conversationId, text: `m${i}` })))),
    );
    await Promise.all(pairs.map((p, k) => p.agent.waitFor('message.new', (e) => e.message.id === acks[k][PER_CONVERSATION - 1].id, ACK_WAIT_MS)));
    await Promise.all(syncs);

    pairs.forEach((p, k) => {
      const ids = acks[k].map((m: { id: number }) => m.id);
      expect(acks[k].map((m: { text: string }) => m.text)).toEqual(Array.from({ length: PER_CONVERSATION }, (_, i) => `m${i}`));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      const pushed = p.agent.all('message.new', (e) => e.message.conversationId === p.conversationId).map((e) => e.message.id);
      expect(pushed).toEqual(ids);
    });

    // A message seen on a push: every earlier message of its conversation was readable by then.
    for (const [k, p] of pairs.entries()) {
      const ids: number[] = acks[k].map((m: { id: number }) => m.id);
      for (const id of ids) {
        const readable = new Set(await seenAtPush.get(id)!);
        const missed = ids.filter((earlier) => earlier <= id && !readable.has(earlier));
        expect({ conversation: p.conversationId, seen: id, missed }).toEqual({ conversation: p.conversationId, seen: id, missed: [] });
      }
    }
  });

  it("waits for another writer's uncommitted message of the same conversation (another instance's batch, a channel post's transaction), so ids commit in order there too", async () => {
    const p = await pair();
    const dataSource = t.app.get(DataSource);
    // The other writer: the same statement in a transaction left open, as a channel post's
    // transaction (insertOne) or another instance's batch in flight holds it.
    const other = dataSource.createQueryRunner();
    await other.connect();
    try {
      await other.startTransaction();
      const held = await t.app.get(MessagesRepository).insertOne(other.manager, {
        conversationId: p.conversationId, role: 'customer', senderId: p.customerId, text: 'uncommitted', clientMessageId: null, actor: { type: 'customer', id: p.customerId },
      });
      const heldId = Number(held!.id);
      const sent = p.customer.ok('message.send', { conversationId: p.conversationId, text: 'after it' });
      // (The message statement, known by its first lines: pg_stat_activity keeps only the first 1 kB of a query.)
      const lockWait = () =>
        dataSource.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%AS v(conversation_id, role, sender_id,%'`).then((rows: unknown[]) => rows.length > 0);
      // The send cannot be answered before the other message commits: it waits on its lock.
      let answered = false;
      void sent.then(() => (answered = true), () => (answered = true));
      const first = await eventually(async () => (answered ? 'answered' : (await lockWait()) ? 'waiting on the lock' : null), 10_000, 20);
      expect(first).toBe('waiting on the lock');
      await other.commitTransaction();
      const message = await sent;
      expect(message.id).toBeGreaterThan(heldId);
      const synced = await p.agent.ok('messages.sync', { conversationId: p.conversationId, afterId: 0 });
      expect(synced.map((m: { id: number }) => m.id)).toEqual([heldId, message.id]);
    } finally {
      if (other.isTransactionActive) await other.rollbackTransaction();
      await other.release();
    }
  });
});

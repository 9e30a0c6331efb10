import { DataSource, QueryRunner } from 'typeorm';
import { WriterPool } from '@cc/database';
import { ContactCenter } from './factories/contact-center.factory';
import { createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { describeWith } from './utils/requires';
import { closeAll, connect, WsClient } from './utils/ws-client';

const POOL = 2;

/*
 * The message writer's own connections (WriterPool) on PostgreSQL: a message batch does not wait
 * for a connection of the shared pool (DB_POOL_SIZE), which transactions may hold all at once;
 * and every session of the instance, on either pool, runs with JIT compilation off.
 */
describeWith(['postgres'], 'Message writer connections (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { DB_POOL_SIZE: String(POOL) } });
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

  it('stores and acknowledges a message while open transactions hold every connection of the shared pool', async () => {
    const queue = await cc.queue();
    const agentHandle = await cc.agent({ queueIds: [queue.id] });
    const agent = await socket('/agent', agentHandle.token);
    const customer = await socket('/customer', (await cc.customer()).token);
    const conversation = await customer.ok('conversation.start', { queueId: queue.id });
    await agent.waitFor('conversation.assigned', (e) => e.conversation.id === conversation.id);

    const dataSource = t.app.get(DataSource);
    const held: QueryRunner[] = [];
    let poolAnswered = false;
    let poolRead: Promise<unknown> | undefined;
    try {
      for (let i = 0; i < POOL; i++) {
        const runner = dataSource.createQueryRunner();
        held.push(runner);
        await runner.connect();
        await runner.startTransaction();
        await runner.query('SELECT 1');
      }
      // The shared pool is exhausted: a read on it waits until a transaction ends.
      poolRead = dataSource.query('SELECT 1').then(() => (poolAnswered = true));
      const message = await customer.ok('message.send', { conversationId: conversation.id, text: 'while the pool is held' });
      expect(message.text).toBe('while the pool is held');
      expect(poolAnswered).toBe(false);
      // Committed before the ack: the next statement of an open (read-committed) transaction sees it.
      const rows = await held[0].query('SELECT text FROM messages WHERE id = $1', [message.id]);
      expect(rows).toEqual([{ text: 'while the pool is held' }]);
    } finally {
      for (const runner of held) {
        await runner.rollbackTransaction().catch(() => undefined);
        await runner.release();
      }
    }
    await poolRead;
    expect(poolAnswered).toBe(true);
  });

  it('runs every session, the shared pool and the writer connections, without JIT compilation', async () => {
    const writers = t.app.get(WriterPool);
    expect(writers.dedicated).toBe(true);
    const [shared] = await t.app.get(DataSource).query(`SELECT current_setting('jit') AS jit`);
    const [own] = await writers.query<{ jit: string }>('test_jit', `SELECT current_setting('jit') AS jit`, []);
    expect(shared.jit).toBe('off');
    expect(own.jit).toBe('off');
  });
});

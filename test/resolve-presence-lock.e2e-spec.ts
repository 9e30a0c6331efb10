import { DataSource, QueryRunner } from 'typeorm';
import { createAgent, insertConversation } from './factories/agent.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { describeWith } from './utils/requires';

const API = '/api/v1';

/*
 * An agent resolving its own conversation records its derived state (busy → available) under its
 * presence row's lock, taken once in the transaction (by the wrap-up's lock; the state history
 * does not lock it again): a resolve waits for another transaction holding that row, and then
 * records the change once, from what that transaction committed.
 */
describeWith(['postgres'], 'Resolve under the presence lock (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let db: DataSource;
  let holder: QueryRunner | undefined;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t);
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    if (holder && !holder.isReleased) await holder.release();
    await t?.close();
  });

  it("waits for the agent's presence row, then records busy → available once", async () => {
    const agent = await createAgent(t, admin, { maxConcurrent: 1 });
    await t.http.post(`${API}/agents/${agent.id}/login`).set(bearer(admin)).send({}).expect(200);
    const conversation = await insertConversation(t, agent.id, 'active');
    // The conversation was inserted by SQL: its assignment's history row, as an assignment writes it.
    await db.query(`INSERT INTO agent_state_history (agent_id, from_state, to_state, reason) VALUES ($1, 'available', 'busy', 'assigned')`, [agent.id]);

    holder = db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    const [{ pid }] = await holder.query(`SELECT pg_backend_pid() AS pid`);
    await holder.query(`SELECT 1 FROM agent_presence WHERE agent_id = $1 FOR UPDATE`, [agent.id]);

    const resolving = t.http.post(`${API}/conversations/${conversation}/resolve`).set(bearer(agent.token)).send({}).then((r) => r);
    // Until the resolve's session is seen waiting for the holder's lock.
    for (let waited = 0; ; waited += 20) {
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]);
      if (n > 0) break;
      if (waited > 10_000) throw new Error('the resolve never waited for the presence row');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await db.query(`SELECT status FROM conversations WHERE id = $1`, [conversation]))[0].status).toBe('active');
    await holder.commitTransaction();
    await holder.release();

    expect((await resolving).status).toBe(200);
    const rows = await db.query(`SELECT from_state AS "from", to_state AS "to" FROM agent_state_history WHERE agent_id = $1 AND reason = 'resolved'`, [agent.id]);
    expect(rows).toEqual([{ from: 'busy', to: 'available' }]);
    const [{ status }] = await db.query(`SELECT status FROM conversations WHERE id = $1`, [conversation]);
    expect(status).toBe('resolved');
  });
});

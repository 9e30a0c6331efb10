import { DataSource } from 'typeorm';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { describeWith } from './utils/requires';

/*
 * The drain hands out several waiting conversations per allocation-lock transaction; with two
 * instances draining at once, the lock and the held-slot counters still keep every capacity and
 * decide each conversation once.
 */
describeWith(['postgres'], 'Drain batches on two instances (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let db: DataSource;
  let cc: ContactCenter;
  const on = (i: number) => new ContactCenter(i % 2 ? b : a, cc.admin);

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ databaseUrl: a.databaseUrl!, keepDatabase: true });
    db = a.app.get(DataSource);
    cc = new ContactCenter(a, await loginAdmin(a));
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('fills every free slot from the line, several per transaction, never beyond capacity and never twice', async () => {
    const q = await cc.queue();
    const capacities = [3, 2, 2, 1, 1, 1];
    const agents = [];
    for (const maxConcurrent of capacities) agents.push(await cc.agent({ maxConcurrent, queueIds: [q.id] }, { login: false }));
    // Nobody is logged in: every start waits.
    const started = [];
    for (let i = 0; i < 16; i++) started.push((await on(i).start({ queueId: q.id })).conversation);
    expect(started.every((c) => c.status === 'queued')).toBe(true);
    const ids = started.map((c) => c.id as number);

    // Every login frees slots on the instance that took it: both drain at once.
    await Promise.all(agents.map((g, i) => on(i).t.http.post(`/api/v1/agents/${g.id}/login`).set(bearer(cc.admin)).send({}).expect(200)));
    const slots = capacities.reduce((s, n) => s + n, 0);
    const activeCount = async () => (await db.query(`SELECT count(*)::int AS n FROM conversations WHERE id = ANY($1) AND status = 'active'`, [ids]))[0].n as number;
    await eventually(async () => (await activeCount()) === slots, 20_000);

    const held = (await db.query(
      `SELECT a.id, a.max_concurrent AS max, count(c.id)::int AS n FROM agents a LEFT JOIN conversations c ON c.agent_id = a.id AND c.status = 'active'
       WHERE a.id = ANY($1) GROUP BY a.id ORDER BY a.id`,
      [agents.map((g) => g.id)],
    )) as { id: number; max: number; n: number }[];
    expect(held.map((r) => r.n)).toEqual(held.map((r) => r.max));
    const assigned = (await db.query(
      `SELECT conversation_id, count(*)::int AS n FROM allocation_decisions WHERE conversation_id = ANY($1) AND outcome = 'assigned' GROUP BY conversation_id`,
      [ids],
    )) as { conversation_id: number; n: number }[];
    expect(assigned).toHaveLength(slots);
    expect(assigned.every((r) => r.n === 1)).toBe(true);
    // Rows written by one transaction share its xmin: some transaction assigned several.
    const perTransaction = (await db.query(`SELECT count(*)::int AS n FROM conversations WHERE id = ANY($1) AND status = 'active' GROUP BY xmin::text`, [ids])) as { n: number }[];
    expect(Math.max(...perTransaction.map((r) => r.n))).toBeGreaterThan(1);
    const { counters, direct } = (
      await db.query(
        `SELECT (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, held) ORDER BY agent_id), '[]') FROM (SELECT agent_id, sum(held)::int AS held FROM agent_held_slots WHERE held <> 0 GROUP BY agent_id) h) AS counters,
                (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, n) ORDER BY agent_id), '[]') FROM (
                   SELECT agent_id, count(*)::int AS n FROM conversations WHERE agent_id IS NOT NULL AND status IN ('offered', 'active') GROUP BY agent_id) d) AS direct`,
      )
    )[0];
    expect(counters).toEqual(direct);
  });
});

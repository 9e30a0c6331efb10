import { DataSource } from 'typeorm';
import { AgentHandle, ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { describeWith } from './utils/requires';

/*
 * The held slots a decision reads (agent_held_slots, kept by a trigger on conversations) agree
 * with a direct count of offered + active conversations after every kind of change, made through
 * two instances sharing the database.
 */
describeWith(['postgres'], 'Held slots per agent and channel on two instances (e2e)', () => {
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

  // One statement, one snapshot: a change committing meanwhile cannot make the two sides differ.
  const counted = async () =>
    (
      await db.query(
        `SELECT (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, channel, held) ORDER BY agent_id, channel), '[]') FROM agent_held_slots WHERE held <> 0) AS counters,
                (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, channel, n) ORDER BY agent_id, channel), '[]') FROM (
                   SELECT agent_id, channel, count(*)::int AS n FROM conversations
                   WHERE agent_id IS NOT NULL AND status IN ('offered', 'active') GROUP BY agent_id, channel) direct) AS direct`,
      )
    )[0] as { counters: [number, string, number][]; direct: [number, string, number][] };
  async function expectAgree(): Promise<void> {
    const { counters, direct } = await counted();
    expect(counters).toEqual(direct);
  }

  it('agree after starts, transfers, manual assignment, resolution and logoff', async () => {
    const q = await cc.queue({ channels: ['web', 'wa'] });
    const parking = await cc.queue();
    const x = await cc.agent({ maxConcurrent: 2, queueIds: [q.id] });
    const y = await cc.agent({ maxConcurrent: 3, channelCapacity: { wa: 1 }, queueIds: [q.id] });
    const started = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => on(i).start({ queueId: q.id, channel: i % 3 ? 'web' : 'wa' })));
    expect(started.filter((s) => s.conversation.status === 'active')).toHaveLength(5);
    await expectAgree();
    expect(new Set((await counted()).direct.map(([, channel]) => channel))).toEqual(new Set(['web', 'wa']));

    const [first, second] = started.filter((s) => s.conversation.status === 'active').map((s) => s.conversation);
    const other = (c: { agentId: number }) => (c.agentId === x.id ? y : x);
    await on(1).post(`/conversations/${first.id}/transfer`, { agentId: other(first).id }).expect(200);
    await on(0).post(`/conversations/${second.id}/transfer`, { queueId: parking.id }).expect(200);
    await expectAgree();

    const waiting = started.find((s) => s.conversation.status === 'queued') ?? (await on(0).start({ queueId: parking.id }));
    await on(1).post(`/conversations/${waiting.conversation.id}/assign`, { agentId: x.id }).expect(200);
    await expectAgree();

    const [third] = (await db.query(`SELECT id FROM conversations WHERE agent_id = $1 AND status = 'active' ORDER BY id LIMIT 1`, [y.id])) as { id: number }[];
    await on(0).post(`/conversations/${third.id}/resolve`).expect(200);
    await expectAgree();

    await on(1).post(`/agents/${x.id}/logoff`).expect(200);
    await eventually(async () => (await db.query(`SELECT count(*)::int AS n FROM conversations WHERE agent_id = $1 AND status = 'active'`, [x.id]))[0].n === 0);
    await expectAgree();
  });

  it('agree after offers made, accepted, declined and expired', async () => {
    const q = await cc.queue({ offerTimeoutSeconds: 60 });
    const agents: AgentHandle[] = [await cc.agent({ maxConcurrent: 2, queueIds: [q.id] }), await cc.agent({ maxConcurrent: 2, queueIds: [q.id] })];
    const tokens = new Map(agents.map((g) => [g.id, g.token]));
    const started = await Promise.all([0, 1, 2].map((i) => on(i).start({ queueId: q.id })));
    // As stored (a customer sees an offered conversation as waiting).
    const rows = (await db.query(`SELECT id, status, agent_id AS "agentId" FROM conversations WHERE id = ANY($1) ORDER BY id`, [started.map((x) => x.conversation.id)])) as { id: number; status: string; agentId: number }[];
    expect(rows.map((r) => r.status)).toEqual(['offered', 'offered', 'offered']);
    await expectAgree();

    const [accept, decline] = rows;
    await b.http.post(`/api/v1/conversations/${accept.id}/accept`).set(bearer(tokens.get(accept.agentId)!)).send({}).expect(200);
    await a.http.post(`/api/v1/conversations/${decline.id}/decline`).set(bearer(tokens.get(decline.agentId)!)).send({}).expect(200);
    await expectAgree();

    const short = await cc.queue({ offerTimeoutSeconds: 1, pauseOnMissedOffer: true });
    const missing = await cc.agent({ maxConcurrent: 1, queueIds: [short.id] });
    const { conversation } = await on(1).start({ queueId: short.id });
    const stored = async () => (await db.query(`SELECT status, agent_id FROM conversations WHERE id = $1`, [conversation.id]))[0];
    expect(await stored()).toEqual({ status: 'offered', agent_id: missing.id });
    await eventually(async () => (await stored()).status === 'queued', 8000);
    await expectAgree();
  });

  it('agree after a burst of starts split over both instances', async () => {
    const q = await cc.queue();
    for (let i = 0; i < 4; i++) await cc.agent({ maxConcurrent: 3, queueIds: [q.id] });
    const started = await Promise.all(Array.from({ length: 30 }, (_, i) => on(i).start({ queueId: q.id })));
    expect(started.filter((s) => s.conversation.status === 'active')).toHaveLength(12);
    await expectAgree();
    const perAgent = await db.query(`SELECT count(*)::int AS n FROM conversations WHERE queue_id = $1 AND status = 'active' GROUP BY agent_id`, [q.id]);
    expect(perAgent.map((r: { n: number }) => r.n)).toEqual([3, 3, 3, 3]);
  });
});

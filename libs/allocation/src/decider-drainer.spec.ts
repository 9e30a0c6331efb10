/*
 * Service-level specs of the decider, the decision queue and the drainer over their repositories
 * on a real database: the allocation module as the app wires it, on an embedded PGlite engine with
 * the migrations, no HTTP and no sockets.
 */
import { rmSync } from 'fs';
import { Logger } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { CommonModule, DomainEventMap, loadConfig } from '@cc/common';
import { DatabaseModule } from '@cc/database';
import { waitingLineSql } from '@cc/conversations';
import { tempDataDir } from '../../../test/utils/test-db';
import { AllocationModule } from './allocation.module';
import { CandidatesRepository, wholePool } from './candidates.repository';
import { Decider } from './decider';
import { Drainer } from './drainer';

let moduleRef: TestingModule;
let dataSource: DataSource;
let decider: Decider;
let drainer: Drainer;
let dir: string;
const assigned: DomainEventMap['conversation.assigned'][] = [];
const queued: DomainEventMap['conversation.queued'][] = [];
const q = <T = any>(sql: string, params: unknown[] = []): Promise<T[]> => dataSource.query(sql, params);

beforeAll(async () => {
  dir = tempDataDir();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: '', DATA_DIR: dir, JWT_SECRET: 'test-secret-0123456789abcdef', REDIS_URL: '' });
  moduleRef = await Test.createTestingModule({ imports: [CommonModule.forRoot(config), EventEmitterModule.forRoot(), DatabaseModule, AllocationModule] }).compile();
  // No init(): the sweep and the startup drain stay off, so each drain here is the test's own.
  dataSource = moduleRef.get(DataSource);
  decider = moduleRef.get(Decider);
  drainer = moduleRef.get(Drainer);
  moduleRef.get(EventEmitter2).on('conversation.assigned', (e: DomainEventMap['conversation.assigned']) => assigned.push(e));
  moduleRef.get(EventEmitter2).on('conversation.queued', (e: DomainEventMap['conversation.queued']) => queued.push(e));
}, 120_000);

afterAll(async () => {
  await moduleRef?.close();
  await dataSource?.destroy().catch(() => undefined);
  // The embedded engine stops with the module (DatabaseConnection); its files go here.
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await q(`TRUNCATE allocation_decisions, conversation_transfers, messages, conversations, queue_members, agent_presence, agent_state_history, agents, customers RESTART IDENTITY CASCADE`);
  await q(`DELETE FROM queues WHERE name <> 'default'`);
  await q(`UPDATE queues SET last_assigned_agent_id = NULL`);
  assigned.length = 0;
  queued.length = 0;
});

async function queue(name: string, priority = 0): Promise<number> {
  const [row] = await q(`INSERT INTO queues (name, priority) VALUES ($1, $2) RETURNING id`, [name, priority]);
  return row.id;
}

/** A logged-in, available agent in these queues. */
async function agent(queueIds: number[], maxConcurrent = 1): Promise<number> {
  const [row] = await q(`INSERT INTO agents (email, name, password_hash, max_concurrent) VALUES ('a' || nextval('agents_id_seq') || '@x', 'Agent', 'x', $1) RETURNING id`, [maxConcurrent]);
  await q(`INSERT INTO agent_presence (agent_id, logged, logged_at) VALUES ($1, true, now())`, [row.id]);
  await q(`INSERT INTO queue_members (queue_id, agent_id) SELECT unnest($1::int[]), $2`, [queueIds, row.id]);
  return row.id;
}

/** A conversation waiting in `queueId` since `secondsAgo`. */
async function waiting(queueId: number, secondsAgo: number): Promise<number> {
  const [customer] = await q(`INSERT INTO customers (name) VALUES ('c') RETURNING id`);
  const [row] = await q(
    `INSERT INTO conversations (customer_id, queue_id, channel, status, waiting_since) VALUES ($1, $2, 'web', 'queued', now() - $3::int * interval '1 second') RETURNING id`,
    [customer.id, queueId, secondsAgo],
  );
  return row.id;
}

const statusOf = async (id: number) => (await q(`SELECT status, agent_id FROM conversations WHERE id = $1`, [id]))[0];
const decisionsOf = async (id: number) => q(`SELECT outcome, agent_id, trigger FROM allocation_decisions WHERE conversation_id = $1 ORDER BY id`, [id]);

describe('Decider and DecisionQueue', () => {
  it('assigns in one statement: conversation, decision, the agent last assigned, the queue round-robin mark', async () => {
    const queueId = await queue('q1');
    const agentId = await agent([queueId]);
    const id = await waiting(queueId, 5);
    const row = await decider.decide(id, 'test');
    expect(row).toMatchObject({ id, status: 'active', agent_id: agentId });
    expect(await decisionsOf(id)).toEqual([{ outcome: 'assigned', agent_id: agentId, trigger: 'test' }]);
    expect((await q(`SELECT last_assigned_at FROM agent_presence WHERE agent_id = $1`, [agentId]))[0].last_assigned_at).not.toBeNull();
    expect((await q(`SELECT last_assigned_agent_id FROM queues WHERE id = $1`, [queueId]))[0].last_assigned_agent_id).toBe(agentId);
  });

  it('leaves a conversation waiting, with its decision and its place, when no agent is free', async () => {
    const queueId = await queue('q1');
    await agent([queueId], 1).then((id) => q(`UPDATE agent_presence SET paused = true WHERE agent_id = $1`, [id]));
    const first = await waiting(queueId, 20);
    const second = await waiting(queueId, 10);
    const row = await decider.decide(second, 'test');
    expect(row).toMatchObject({ id: second, status: 'queued', agent_id: null, position: 2 });
    expect((await decisionsOf(second))[0]).toMatchObject({ outcome: 'queued', agent_id: null });
    expect(await statusOf(first)).toEqual({ status: 'queued', agent_id: null });
  });

  it('rolls a failing decision back on its own: the others of its batch commit, once each, with one event each', async () => {
    const queueId = await queue('q1');
    const agents = [await agent([queueId]), await agent([queueId]), await agent([queueId])];
    const [blocker, a, b] = [await waiting(queueId, 30), await waiting(queueId, 20), await waiting(queueId, 10)];
    // The first push starts a batch at once; the next three queue behind it and go together.
    const first = decider.decide(blocker, 'test');
    const batch = [decider.decide(a, 'test'), decider.decide(2_000_000_000, 'test'), decider.decide(b, 'test')];
    const results = await Promise.allSettled([first, ...batch]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ status: 404 });
    for (const id of [blocker, a, b]) {
      expect((await statusOf(id)).status).toBe('active');
      expect(await decisionsOf(id)).toHaveLength(1);
    }
    const holders = await q(`SELECT agent_id FROM conversations WHERE status = 'active' ORDER BY agent_id`);
    expect(holders.map((r) => r.agent_id)).toEqual(agents);
    // Events of the rolled-back attempt were dropped; each committed decision published once.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(assigned.map((e) => e.conversation.id).sort()).toEqual([blocker, a, b].sort());
  });

  it('never assigns beyond capacity when decisions for one agent race', async () => {
    const queueId = await queue('q1');
    const agentId = await agent([queueId], 2);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await waiting(queueId, 50 - i));
    await Promise.all(ids.map((id) => decider.decide(id, 'test')));
    const active = await q(`SELECT id FROM conversations WHERE agent_id = $1 AND status = 'active' ORDER BY id`, [agentId]);
    expect(active).toHaveLength(2);
  });

  it('a start decided after a drain already placed its conversation keeps that place: distinct positions, one queued event', async () => {
    const queueId = await queue('q1');
    await agent([queueId], 1).then((id) => q(`UPDATE agent_presence SET paused = true WHERE agent_id = $1`, [id]));
    // Stored by their starts, not yet decided (waiting_since NULL): a drain may reach them first.
    const [customerX, customerY] = await q(`INSERT INTO customers (name) VALUES ('x'), ('y') RETURNING id`);
    const stored = async (customerId: number) =>
      (await q(`INSERT INTO conversations (customer_id, queue_id, channel, status) VALUES ($1, $2, 'web', 'queued') RETURNING id`, [customerId, queueId]))[0].id as number;
    const x = await stored(customerX.id);
    const y = await stored(customerY.id);
    const drained = await decider.decideAll([x], 'drain')[0];
    expect(drained).toMatchObject({ id: x, status: 'queued', position: 1 });
    const since = (await q(`SELECT waiting_since FROM conversations WHERE id = $1`, [x]))[0].waiting_since;
    const second = await decider.decide(y, 'conversation-started');
    const first = await decider.decide(x, 'conversation-started');
    expect(second).toMatchObject({ id: y, status: 'queued', position: 2 });
    expect((await q(`SELECT waiting_since FROM conversations WHERE id = $1`, [x]))[0].waiting_since).toEqual(since);
    expect((await q(`SELECT id, position FROM (${waitingLineSql()}) l ORDER BY position`)).map((r) => r.id)).toEqual([x, y]);
    expect(first).toMatchObject({ id: x, status: 'queued', position: 1 });
    expect(await decisionsOf(x)).toEqual([
      { outcome: 'queued', agent_id: null, trigger: 'drain' },
      { outcome: 'queued', agent_id: null, trigger: 'conversation-started' },
    ]);
    expect(queued.map((e) => e.conversation.id)).toEqual([x, y]);
  });
});

describe('Decider in a large queue', () => {
  /** `count` agents of capacity 3 in a longest-idle queue, the first assigned longest ago, the last never; the queue's id and the agents from idlest. */
  async function largeQueue(count: number): Promise<{ queueId: number; idlest: number[] }> {
    const queueId = await queue('large');
    await q(`UPDATE queues SET strategy = 'longest-idle' WHERE id = $1`, [queueId]);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(await agent([queueId], 3));
    // Never assigned (the last one) is idlest; then the oldest assignment.
    await q(`UPDATE agent_presence p SET last_assigned_at = now() - (1000 - u.n) * interval '1 minute' FROM unnest($1::int[]) WITH ORDINALITY AS u(id, n) WHERE p.agent_id = u.id`, [ids.slice(0, -1)]);
    return { queueId, idlest: [ids[count - 1], ...ids.slice(0, -1)] };
  }

  it('reads the best few members and the first by id, and chooses as reading every member would', async () => {
    const { queueId, idlest } = await largeQueue(45);
    const candidates = moduleRef.get(CandidatesRepository);
    const { pool } = await candidates.candidates(dataSource.manager, queueId, 'web', [], { limit: 5 });
    expect(pool.members.length).toBeLessThanOrEqual(25);
    expect(pool).toMatchObject({ complete: false, cut: { boundary: { agentId: idlest[4] } } });
    const all = await candidates.queueWithMembers(dataSource.manager, queueId);
    expect(decider.choose(pool.queue, 'web', pool)!.agent!.agentId).toBe(idlest[0]);
    expect(decider.choose(all.queue, 'web', wholePool(all.queue, all.members))!.agent!.agentId).toBe(idlest[0]);
    // Its log: the chosen agent and the first 19 others by id, as when every member was read.
    const id = await waiting(queueId, 5);
    await decider.decide(id, 'test');
    const [decision] = await q(`SELECT candidates FROM allocation_decisions WHERE conversation_id = $1`, [id]);
    const others = [...idlest.slice(1)].sort((a, b) => a - b).slice(0, 19);
    expect(decision.candidates.map((c: { agentId: number }) => c.agentId)).toEqual([idlest[0], ...others]);
  });

  it('reads again when decisions used up the best it read, and then chooses the true best', async () => {
    const { queueId, idlest } = await largeQueue(30);
    const candidates = moduleRef.get(CandidatesRepository);
    const { pool } = await candidates.candidates(dataSource.manager, queueId, 'web', [], { limit: 3 });
    // As a batch's decisions leave the agents they assigned: loaded, last assigned now.
    for (const m of pool.members.filter((m) => idlest.slice(0, 3).includes(m.agentId))) Object.assign(m, { active: 1, lastAssignedAt: new Date() });
    expect(decider.choose(pool.queue, 'web', pool)).toBeNull();
    await q(`UPDATE agent_presence SET last_assigned_at = now() WHERE agent_id = ANY($1::int[])`, [idlest.slice(0, 3)]);
    const [conversation] = await q(`SELECT * FROM conversations WHERE id = $1`, [await waiting(queueId, 5)]);
    const { choice } = await decider.chooseLocked(dataSource.manager, null, conversation, pool);
    expect(choice.agent!.agentId).toBe(idlest[3]);
  });

  it('decides a burst in the strategy order beyond what one read took, never beyond capacity', async () => {
    const { queueId, idlest } = await largeQueue(40);
    const ids = [];
    for (let i = 0; i < 35; i++) ids.push(await waiting(queueId, 100 - i));
    const rows = await Promise.all(ids.map((id) => decider.decide(id, 'test')));
    expect(rows.every((r) => r.status === 'active')).toBe(true);
    // Longest-idle: an assignment makes the agent the most recent, so 35 decisions go to the 35 idlest, one each.
    expect(rows.map((r) => r.agent_id).sort((a, b) => a! - b!)).toEqual(idlest.slice(0, 35).sort((a, b) => a - b));
  });
});

describe('Drainer', () => {
  it('gives a free slot to the oldest of three waiting conversations', async () => {
    const queueId = await queue('q1');
    const agentId = await agent([queueId]);
    const young = await waiting(queueId, 10);
    const oldest = await waiting(queueId, 30);
    const middle = await waiting(queueId, 20);
    await drainer.drain('test');
    expect(await statusOf(oldest)).toEqual({ status: 'active', agent_id: agentId });
    expect(await statusOf(middle)).toEqual({ status: 'queued', agent_id: null });
    expect(await statusOf(young)).toEqual({ status: 'queued', agent_id: null });
  });

  it('serves the higher-priority queue first, then by wait, until no free agent can take any', async () => {
    const low = await queue('low', 0);
    const high = await queue('high', 10);
    await agent([low, high]);
    await agent([low, high]);
    const oldLow = await waiting(low, 60);
    const newHigh = await waiting(high, 5);
    const newerLow = await waiting(low, 1);
    await drainer.drain('test');
    expect((await statusOf(newHigh)).status).toBe('active');
    expect((await statusOf(oldLow)).status).toBe('active');
    expect((await statusOf(newerLow)).status).toBe('queued');
  });

  it('skips what no free agent may take (skills) and still serves the rest', async () => {
    const queueId = await queue('q1');
    const agentId = await agent([queueId]);
    await q(`UPDATE agents SET skills = '{wa}' WHERE id = $1`, [agentId]);
    const web = await waiting(queueId, 30);
    const [customer] = await q(`INSERT INTO customers (name) VALUES ('c') RETURNING id`);
    const [wa] = await q(`INSERT INTO conversations (customer_id, queue_id, channel, status, waiting_since) VALUES ($1, $2, 'wa', 'queued', now()) RETURNING id`, [customer.id, queueId]);
    await drainer.drain('test');
    expect(await statusOf(wa.id)).toEqual({ status: 'active', agent_id: agentId });
    expect((await statusOf(web)).status).toBe('queued');
  });

  /** The transaction that last wrote each conversation (rows written by one transaction share its xmin). */
  const writersOf = async (ids: number[]) => new Set((await q(`SELECT xmin::text AS tx FROM conversations WHERE id = ANY($1::int[])`, [ids])).map((r) => r.tx));

  it('hands out as many conversations as there are free slots in one transaction, in the line order, never beyond capacity', async () => {
    const low = await queue('low', 0);
    const high = await queue('high', 10);
    const agents = new Map([
      [await agent([low, high], 2), 2],
      [await agent([low, high], 1), 1],
      [await agent([low], 2), 2],
    ]);
    const lowIds = [];
    for (let i = 0; i < 6; i++) lowIds.push(await waiting(low, 60 - i * 10));
    const highIds = [await waiting(high, 5), await waiting(high, 1)];
    await drainer.drain('test');
    // Five slots: the high queue's two, then the low queue's three oldest; the rest wait.
    const served = [...highIds, ...lowIds.slice(0, 3)];
    for (const id of served) expect((await statusOf(id)).status).toBe('active');
    for (const id of lowIds.slice(3)) expect(await statusOf(id)).toEqual({ status: 'queued', agent_id: null });
    expect(await writersOf(served)).toHaveProperty('size', 1);
    for (const [agentId, max] of agents) expect((await q(`SELECT id FROM conversations WHERE agent_id = $1 AND status = 'active'`, [agentId])).length).toBe(max);
    for (const id of served) expect(await decisionsOf(id)).toEqual([expect.objectContaining({ outcome: 'assigned', trigger: 'test' })]);
    for (const id of lowIds.slice(3)) expect(await decisionsOf(id)).toEqual([]);
  });

  it('takes from each queue at most its free members\' slots, so no decision in the step is left without an agent', async () => {
    const x = await queue('x');
    const y = await queue('y');
    await agent([x]);
    await agent([y]);
    const [x1, x2, x3] = [await waiting(x, 50), await waiting(x, 40), await waiting(x, 30)];
    const y1 = await waiting(y, 10);
    await drainer.drain('test');
    expect((await statusOf(x1)).status).toBe('active');
    expect((await statusOf(y1)).status).toBe('active');
    expect(await writersOf([x1, y1])).toHaveProperty('size', 1);
    for (const id of [x2, x3]) expect(await decisionsOf(id)).toEqual([]);
  });

  it('keeps the others of its transaction when one decision fails, and gives that slot to the next in line', async () => {
    const queueId = await queue('q1');
    for (let i = 0; i < 3; i++) await agent([queueId]);
    const [w1, w2, w3, w4] = [await waiting(queueId, 40), await waiting(queueId, 30), await waiting(queueId, 20), await waiting(queueId, 10)];
    // The database refuses w2's assignment: its decision fails and rolls back the shared transaction.
    await q(`CREATE FUNCTION refuse_assignment() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await q(`CREATE TRIGGER refuse_assignment BEFORE UPDATE ON conversations FOR EACH ROW WHEN (NEW.id = ${w2} AND NEW.status = 'active') EXECUTE FUNCTION refuse_assignment()`);
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    let messages: string[] = [];
    try {
      await drainer.drain('test');
    } finally {
      messages = logged.mock.calls.map(([message]) => String(message).split(':')[0]);
      logged.mockRestore();
      await q(`DROP TRIGGER refuse_assignment ON conversations`);
      await q(`DROP FUNCTION refuse_assignment()`);
    }
    // The failure is logged once, naming its conversation; the drain went on.
    expect(messages).toEqual([`Drain decision for conversation ${w2} failed`]);
    for (const id of [w1, w3, w4]) {
      expect((await statusOf(id)).status).toBe('active');
      expect(await decisionsOf(id)).toHaveLength(1);
    }
    expect(await statusOf(w2)).toEqual({ status: 'queued', agent_id: null });
    expect(await decisionsOf(w2)).toEqual([]);
    expect((await q(`SELECT DISTINCT agent_id FROM conversations WHERE status = 'active'`)).length).toBe(3);
  });

  it('coalesces calls: a drain asked for while one runs makes it go round again, and nothing is decided twice', async () => {
    const queueId = await queue('q1');
    const first = await waiting(queueId, 30);
    const running = drainer.drain('first'); // no free agent yet: looks and finds none
    await agent([queueId]);
    const second = await waiting(queueId, 20);
    await drainer.drain('second'); // during the first: only marks another round
    await running;
    // Bounded wait for the round the second call asked for.
    for (let i = 0; i < 100 && (await statusOf(first)).status !== 'active'; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await statusOf(first)).status).toBe('active');
    expect((await statusOf(second)).status).toBe('queued');
    expect((await decisionsOf(first)).filter((d) => d.outcome === 'assigned')).toHaveLength(1);
  });
});

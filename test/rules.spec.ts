import { DataSource } from 'typeorm';
import { compareWaiting, ConversationsRepository, positionOfSql, WaitingFacts } from '@cc/conversations';
import { activeCountSql, availableSql, deriveState, isAvailable, PresenceFacts, stateSql } from '@cc/presence';
import { embeddedDataSource } from './utils/embedded-db';

/*
 * Each rule that exists in SQL and in TypeScript, run both ways on the same cases, the SQL on the
 * real schema of an embedded database (PGlite), so the twins cannot drift:
 * - an agent's state and availability: deriveState / isAvailable vs stateSql / availableSql,
 *   with the load from activeCountSql (libs/presence/src/presence-state.ts);
 * - the waiting line's order: compareWaiting vs the waiting line, positions and positionOfSql
 *   (libs/conversations/src/waiting-line.ts, conversations.repository.ts).
 */
interface Case {
  presence: { logged: boolean; paused: boolean; wrapUpInSeconds: number | null } | null;
  active: number;
  maxConcurrent: number;
}

const cases: Case[] = [];
for (const presence of [
  null,
  { logged: false, paused: false, wrapUpInSeconds: null },
  { logged: false, paused: true, wrapUpInSeconds: 600 },
  { logged: true, paused: false, wrapUpInSeconds: null },
  { logged: true, paused: true, wrapUpInSeconds: null },
  { logged: true, paused: true, wrapUpInSeconds: 600 },
  { logged: true, paused: false, wrapUpInSeconds: 600 },
  { logged: true, paused: false, wrapUpInSeconds: -600 },
]) {
  for (const [active, maxConcurrent] of [
    [0, 1],
    [1, 2],
    [2, 2],
    [3, 2],
  ]) {
    cases.push({ presence, active, maxConcurrent });
  }
}

let db: { dataSource: DataSource; close(): Promise<void> };
const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);

beforeAll(async () => {
  db = await embeddedDataSource();
}, 60_000);

afterAll(() => db?.close());

describe('presence rules: TypeScript and SQL agree', () => {
  let rows: { id: number; state: string; available: boolean | null; active: number; now: Date; wrap_up_until: Date | null }[];

  beforeAll(async () => {
    const [{ id: customerId }] = await q(`INSERT INTO customers (name) VALUES ('c') RETURNING id`);
    const [{ id: queueId }] = await q(`SELECT id FROM queues WHERE name = 'default'`);
    for (const [i, c] of cases.entries()) {
      const [{ id }] = await q(`INSERT INTO agents (email, name, password_hash, max_concurrent) VALUES ($1, 'a', 'x', $2) RETURNING id`, [`a${i}@x`, c.maxConcurrent]);
      if (c.presence) {
        await q(
          `INSERT INTO agent_presence (agent_id, logged, paused, wrap_up_until)
           VALUES ($1, $2, $3, CASE WHEN $4::int IS NULL THEN NULL ELSE now() + $4::int * interval '1 second' END)`,
          [id, c.presence.logged, c.presence.paused, c.presence.wrapUpInSeconds],
        );
      }
      // One customer may hold one open conversation: each conversation gets its own customer.
      for (let n = 0; n < c.active + 1; n++) {
        const [{ id: cust }] = n === 0 && i === 0 ? [{ id: customerId }] : await q(`INSERT INTO customers (name) VALUES ('c') RETURNING id`);
        const status = n < c.active ? 'active' : 'resolved';
        await q(`INSERT INTO conversations (customer_id, agent_id, queue_id, channel, status) VALUES ($1, $2, $3, 'web', $4)`, [cust, id, queueId, status]);
      }
    }
    rows = await q(
      `SELECT a.id, ${stateSql('p', 'a', activeCountSql('a.id'))} AS state, ${availableSql('p', 'a', activeCountSql('a.id'))} AS available,
              ${activeCountSql('a.id')} AS active, p.wrap_up_until, now() AS now
       FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id ORDER BY a.id`,
    );
  }, 60_000);

  it('counts only active conversations as load', () => {
    expect(rows.map((r) => r.active)).toEqual(cases.map((c) => c.active));
  });

  it('derives the same state in SQL as deriveState', () => {
    cases.forEach((c, i) => {
      const facts: PresenceFacts = {
        logged: c.presence?.logged ?? false,
        paused: c.presence?.paused ?? false,
        wrapUpUntil: rows[i].wrap_up_until,
        activeConversations: rows[i].active,
        maxConcurrent: c.maxConcurrent,
      };
      expect({ case: i, state: rows[i].state }).toEqual({ case: i, state: deriveState(facts, rows[i].now) });
      expect({ case: i, available: rows[i].available === true }).toEqual({ case: i, available: isAvailable(facts, rows[i].now) });
    });
  });

  it('covers every state', () => {
    expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['offline', 'paused', 'wrap-up', 'busy', 'available']));
  });
});

describe('the waiting line: TypeScript and SQL agree', () => {
  const base = Date.parse('2026-01-01T10:00:00Z');
  // Two queues, ties on waiting_since (the id decides), conversations not in the line (active, not yet placed).
  const layout: { queue: 0 | 1; status: 'queued' | 'active'; waitingAt: number | null }[] = [
    { queue: 0, status: 'queued', waitingAt: 30 },
    { queue: 0, status: 'queued', waitingAt: 10 },
    { queue: 1, status: 'queued', waitingAt: 10 },
    { queue: 0, status: 'queued', waitingAt: 10 },
    { queue: 0, status: 'active', waitingAt: 5 },
    { queue: 0, status: 'queued', waitingAt: null },
    { queue: 1, status: 'queued', waitingAt: 0 },
    { queue: 0, status: 'queued', waitingAt: 20 },
    { queue: 1, status: 'queued', waitingAt: 10 },
    { queue: 0, status: 'queued', waitingAt: 30 },
  ];
  let rows: { id: number; queue_id: number; status: string; waiting_since: Date | null }[];
  let queueIds: number[];

  beforeAll(async () => {
    const [{ id: q0 }] = await q(`SELECT id FROM queues WHERE name = 'default'`);
    const [{ id: q1 }] = await q(`INSERT INTO queues (name) VALUES ('second') RETURNING id`);
    queueIds = [q0, q1];
    const [{ id: agentId }] = await q(`INSERT INTO agents (email, name, password_hash) VALUES ('line@x', 'l', 'x') RETURNING id`);
    const customers: { id: number }[] = await q(`INSERT INTO customers (name) SELECT 'w' FROM generate_series(1, $1::int) RETURNING id`, [layout.length]);
    rows = await q(
      `INSERT INTO conversations (customer_id, queue_id, channel, status, waiting_since, agent_id)
       SELECT *, CASE WHEN s = 'active' THEN $6::int END FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::timestamptz[]) AS u(c, q, ch, s, w) ORDER BY 1
       RETURNING id, queue_id, status, waiting_since`,
      [
        customers.map((c) => c.id),
        layout.map((l) => queueIds[l.queue]),
        layout.map(() => 'web'),
        layout.map((l) => l.status),
        layout.map((l) => (l.waitingAt === null ? null : new Date(base + l.waitingAt * 1000).toISOString())),
        agentId,
      ],
    );
  });

  /** The positions by the TypeScript rule: queued and placed, per queue, in compareWaiting order. */
  function expected(): Map<number, number> {
    const positions = new Map<number, number>();
    for (const queueId of queueIds) {
      const line: WaitingFacts[] = rows
        .filter((r) => r.queue_id === queueId && r.status === 'queued' && r.waiting_since !== null)
        .map((r) => ({ id: r.id, waitingSince: r.waiting_since! }));
      line.sort(compareWaiting).forEach((c, i) => positions.set(c.id, i + 1));
    }
    return positions;
  }

  it('numbers the line the same way (waitingLineSql)', async () => {
    const line = await new ConversationsRepository().waitingLine(db.dataSource.manager, queueIds);
    expect(new Map(line.map((r) => [r.id, r.position]))).toEqual(expected());
  });

  it('counts the same positions (positions, positionOfSql)', async () => {
    const repo = new ConversationsRepository();
    expect(await repo.positions(db.dataSource.manager, rows.map((r) => r.id))).toEqual(expected());
    const counted: { id: number; position: number }[] = await q(
      `SELECT c.id, ${positionOfSql('c')} AS position FROM conversations c WHERE c.status = 'queued' AND c.waiting_since IS NOT NULL`,
    );
    expect(new Map(counted.map((r) => [r.id, r.position]))).toEqual(expected());
  });

  it('has ties and conversations outside the line among its cases', () => {
    expect(expected().size).toBe(8);
  });
});

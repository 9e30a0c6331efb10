import { DataSource } from 'typeorm';
import { compareWaiting, ConversationsRepository, placeInLine, positionOfSql, WaitingFacts } from '@cc/conversations';
import { activeCountSql, availableSql, deriveState, heldCountSql, isAvailable, PresenceFacts, stateSql } from '@cc/presence';
import { Candidate, eligibleSql, judge, orderByStrategy, Strategy, strategyOrderSql } from '../libs/allocation/src/strategies';
import { embeddedDataSource } from './utils/embedded-db';

/*
 * Each rule that exists in SQL and in TypeScript, run both ways on the same cases, the SQL on the
 * real schema of an embedded database (PGlite), so the twins cannot drift:
 * - an agent's state and availability: deriveState / isAvailable vs stateSql / availableSql,
 *   with the load from heldCountSql (offered + active) and activeCountSql (libs/presence/src/presence-state.ts);
 * - the waiting line's order: placeInLine + compareWaiting vs the waiting line, positions and positionOfSql
 *   (libs/conversations/src/waiting-line.ts, conversations.repository.ts);
 * - allocation: who is eligible (judge vs eligibleSql) and the strategies' order, ties included
 *   (orderByStrategy vs strategyOrderSql), libs/allocation/src/strategies.ts.
 */
interface Case {
  presence: { logged: boolean; paused: boolean; wrapUpInSeconds: number | null } | null;
  active: number;
  offered: number;
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
  for (const [active, offered, maxConcurrent] of [
    [0, 0, 1],
    [1, 0, 2],
    [0, 1, 2],
    [1, 1, 2],
    [2, 0, 2],
    [3, 0, 2],
  ]) {
    cases.push({ presence, active, offered, maxConcurrent });
  }
}

let db: { dataSource: DataSource; close(): Promise<void> };
const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);

beforeAll(async () => {
  db = await embeddedDataSource();
}, 180_000); // PGlite (WebAssembly) starts and migrates in ~15 s alone, over a minute on a loaded machine

afterAll(() => db?.close());

describe('presence rules: TypeScript and SQL agree', () => {
  let rows: { id: number; state: string; available: boolean | null; active: number; held: number; now: Date; wrap_up_until: Date | null }[];

  beforeAll(async () => {
    // A few statements for all cases: agents, their presence rows, their conversations.
    const agents: { id: number }[] = await q(
      `INSERT INTO agents (email, name, password_hash, max_concurrent)
       SELECT 'rule' || n || '@x', 'a', 'x', m FROM unnest($1::int[]) WITH ORDINALITY AS u(m, n) ORDER BY n RETURNING id`,
      [cases.map((c) => c.maxConcurrent)],
    );
    const withPresence = cases.map((c, i) => ({ c, id: agents[i].id })).filter(({ c }) => c.presence);
    await q(
      `INSERT INTO agent_presence (agent_id, logged, paused, wrap_up_until)
       SELECT id, l, p, CASE WHEN w IS NULL THEN NULL ELSE now() + w * interval '1 second' END
       FROM unnest($1::int[], $2::boolean[], $3::boolean[], $4::int[]) AS u(id, l, p, w)`,
      [withPresence.map((x) => x.id), withPresence.map((x) => x.c.presence!.logged), withPresence.map((x) => x.c.presence!.paused), withPresence.map((x) => x.c.presence!.wrapUpInSeconds)],
    );
    // Each agent: its active and offered conversations, and a resolved and a queued one that do not count.
    const conversations = cases.flatMap((c, i) => [...Array(c.active).fill('active'), ...Array(c.offered).fill('offered'), 'resolved', 'queued'].map((status) => ({ agentId: agents[i].id, status })));
    const customers: { id: number }[] = await q(`INSERT INTO customers (name) SELECT 'c' FROM generate_series(1, $1::int) RETURNING id`, [conversations.length]);
    const [{ id: queueId }] = await q(`SELECT id FROM queues WHERE name = 'default'`);
    await q(
      `INSERT INTO conversations (customer_id, agent_id, queue_id, channel, status, offer_expires_at)
       SELECT cust, CASE WHEN s = 'queued' THEN NULL ELSE ag END, $4, 'web', s, CASE WHEN s = 'offered' THEN now() + interval '1 minute' END
       FROM unnest($1::int[], $2::int[], $3::text[]) AS u(cust, ag, s)`,
      [customers.map((c) => c.id), conversations.map((c) => c.agentId), conversations.map((c) => c.status), queueId],
    );
    rows = await q(
      `SELECT a.id, ${stateSql('p', 'a', heldCountSql('a.id'))} AS state, ${availableSql('p', 'a', heldCountSql('a.id'))} AS available,
              ${activeCountSql('a.id')} AS active, ${heldCountSql('a.id')} AS held, p.wrap_up_until, now() AS now
       FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id WHERE a.email LIKE 'rule%' ORDER BY a.id`,
    );
  }, 60_000);

  it('counts active conversations, and offered + active as the slots held', () => {
    expect(rows.map((r) => r.active)).toEqual(cases.map((c) => c.active));
    expect(rows.map((r) => r.held)).toEqual(cases.map((c) => c.active + c.offered));
  });

  it('derives the same state in SQL as deriveState', () => {
    cases.forEach((c, i) => {
      const facts: PresenceFacts = {
        logged: c.presence?.logged ?? false,
        paused: c.presence?.paused ?? false,
        wrapUpUntil: rows[i].wrap_up_until,
        activeConversations: c.active,
        offeredConversations: c.offered,
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
  // Two queues, ties on waiting_since (the id decides), conversations not in the line (active, not
  // yet placed), offered ones that waited and offered ones that never did (their start counts).
  const layout: { queue: 0 | 1; status: 'queued' | 'active' | 'offered'; waitingAt: number | null; createdAt: number }[] = [
    { queue: 0, status: 'queued', waitingAt: 30, createdAt: 30 },
    { queue: 0, status: 'queued', waitingAt: 10, createdAt: 0 },
    { queue: 1, status: 'queued', waitingAt: 10, createdAt: 10 },
    { queue: 0, status: 'offered', waitingAt: 10, createdAt: 0 },
    { queue: 0, status: 'queued', waitingAt: 10, createdAt: 10 },
    { queue: 0, status: 'active', waitingAt: 5, createdAt: 5 },
    { queue: 0, status: 'queued', waitingAt: null, createdAt: 0 },
    { queue: 1, status: 'queued', waitingAt: 0, createdAt: 0 },
    { queue: 0, status: 'offered', waitingAt: null, createdAt: 25 },
    { queue: 0, status: 'queued', waitingAt: 20, createdAt: 20 },
    { queue: 1, status: 'offered', waitingAt: null, createdAt: 5 },
    { queue: 1, status: 'queued', waitingAt: 10, createdAt: 10 },
    { queue: 0, status: 'queued', waitingAt: 30, createdAt: 30 },
    { queue: 0, status: 'offered', waitingAt: null, createdAt: 20 },
  ];
  let rows: { id: number; queue_id: number; status: string; waiting_since: Date | null; created_at: Date }[];
  let queueIds: number[];

  beforeAll(async () => {
    // Queues of their own: the presence cases above leave offered conversations in the default queue.
    const [{ id: q0 }] = await q(`INSERT INTO queues (name) VALUES ('first') RETURNING id`);
    const [{ id: q1 }] = await q(`INSERT INTO queues (name) VALUES ('second') RETURNING id`);
    queueIds = [q0, q1];
    const [{ id: agentId }] = await q(`INSERT INTO agents (email, name, password_hash) VALUES ('line@x', 'l', 'x') RETURNING id`);
    const customers: { id: number }[] = await q(`INSERT INTO customers (name) SELECT 'w' FROM generate_series(1, $1::int) RETURNING id`, [layout.length]);
    rows = await q(
      `INSERT INTO conversations (customer_id, queue_id, channel, status, waiting_since, created_at, agent_id, offer_expires_at)
       SELECT *, CASE WHEN s <> 'queued' THEN $7::int END, CASE WHEN s = 'offered' THEN now() + interval '1 minute' END
       FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS u(c, q, ch, s, w, created) ORDER BY 1
       RETURNING id, queue_id, status, waiting_since, created_at`,
      [
        customers.map((c) => c.id),
        layout.map((l) => queueIds[l.queue]),
        layout.map(() => 'web'),
        layout.map((l) => l.status),
        layout.map((l) => (l.waitingAt === null ? null : new Date(base + l.waitingAt * 1000).toISOString())),
        layout.map((l) => new Date(base + l.createdAt * 1000).toISOString()),
        agentId,
      ],
    );
  });

  /** The positions by the TypeScript rule: those placeInLine places, per queue, in compareWaiting order. */
  function expected(): Map<number, number> {
    const positions = new Map<number, number>();
    for (const queueId of queueIds) {
      const line = rows
        .filter((r) => r.queue_id === queueId)
        .map((r) => placeInLine({ id: r.id, status: r.status, waitingSince: r.waiting_since, createdAt: r.created_at }))
        .filter((p): p is WaitingFacts => p !== null);
      line.sort(compareWaiting).forEach((c, i) => positions.set(c.id, i + 1));
    }
    return positions;
  }
  const queuedOnly = (positions: Map<number, number>) => new Map([...positions].filter(([id]) => rows.find((r) => r.id === id)!.status === 'queued'));

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
    expect(new Map(counted.map((r) => [r.id, r.position]))).toEqual(queuedOnly(expected()));
  });

  it('has ties, offered conversations and conversations outside the line among its cases', () => {
    expect(expected().size).toBe(12);
    // An offered conversation that never waited stands by its start, between waiting ones.
    const neverWaited = rows.find((r) => r.status === 'offered' && r.waiting_since === null && r.queue_id === queueIds[0])!;
    expect(expected().get(neverWaited.id)).toBe(6);
  });
});

describe('allocation rules: TypeScript and SQL agree', () => {
  it('judges the same members eligible (judge vs eligibleSql)', async () => {
    const cases: { skills: string[]; presence: [boolean, boolean, number | null] | null; held: number; max: number; caps: Record<string, number>; onWeb: number }[] = [];
    for (const skills of [[], ['web'], ['wa'], ['wa', 'web']])
      for (const presence of [null, [false, false, null], [true, false, null], [true, true, null], [true, false, 600], [true, false, -600]] as const)
        for (const [held, max] of [[0, 1], [1, 2], [2, 2], [3, 2]])
          for (const [caps, onWeb] of [[{}, 0], [{ web: 1 }, 0], [{ web: 1 }, 1], [{ wa: 1 }, 1], [{ web: 0 }, 0]] as const)
            cases.push({ skills, presence: presence as [boolean, boolean, number | null] | null, held, max, caps, onWeb: Math.min(onWeb, held) });
    const rows: { ok: boolean | null; wrap_up_until: Date | null; now: Date }[] = await q(
      `SELECT ${eligibleSql('a', `'web'`, 'a.held', 'a.on_web')} AS ok, a.wrap_up_until, now() AS now
       FROM (SELECT u.*, s.skills, CASE WHEN u.w IS NULL THEN NULL ELSE now() + u.w * interval '1 second' END AS wrap_up_until
             FROM unnest($1::int[], $2::boolean[], $3::boolean[], $4::int[], $5::int[], $6::int[], $7::jsonb[], $8::int[])
                  AS u(n, logged, paused, w, held, max_concurrent, channel_capacity, on_web)
             JOIN (SELECT n, array_remove(string_to_array(sk, ','), '') AS skills FROM unnest($9::text[]) WITH ORDINALITY AS x(sk, n)) s USING (n)) a
       ORDER BY a.n`,
      [
        cases.map((_, i) => i + 1),
        cases.map((c) => c.presence?.[0] ?? null),
        cases.map((c) => c.presence?.[1] ?? null),
        cases.map((c) => c.presence?.[2] ?? null),
        cases.map((c) => c.held),
        cases.map((c) => c.max),
        cases.map((c) => JSON.stringify(c.caps)),
        cases.map((c) => c.onWeb),
        cases.map((c) => c.skills.join(',')),
      ],
    );
    const verdicts = cases.map((c, i) => {
      const candidate: Candidate = {
        agentId: i + 1,
        skills: c.skills,
        maxConcurrent: c.max,
        active: c.held,
        channelCapacity: c.caps,
        byChannel: { web: c.onWeb },
        logged: c.presence?.[0] ?? false,
        paused: c.presence?.[1] ?? false,
        wrapUpUntil: rows[i].wrap_up_until,
        lastAssignedAt: null,
      };
      return judge(candidate, 'web', rows[i].now);
    });
    cases.forEach((_, i) => expect({ case: i, eligible: rows[i].ok === true }).toEqual({ case: i, eligible: verdicts[i].eligible }));
    // Every reason is among the cases, and both answers.
    expect(new Set(verdicts.map((v) => v.reason))).toEqual(new Set(['eligible', 'skill', 'offline', 'paused', 'wrap-up', 'full', 'channel-full']));
  });

  it('orders the members the same way for every strategy, ties included (orderByStrategy vs strategyOrderSql)', async () => {
    // Ties on the load, on the last assignment (to the millisecond, with different microseconds) and never assigned.
    const members: [number, number, string | null][] = [
      [1, 2, '2026-01-01T10:00:00.123456Z'],
      [2, 0, '2026-01-01T10:00:00.123999Z'],
      [3, 1, null],
      [4, 0, '2026-01-01T10:00:00.124001Z'],
      [5, 1, '2026-01-01T10:00:00.123001Z'],
      [6, 0, null],
      [7, 2, '2026-01-01T09:59:59.999999Z'],
      [8, 1, '2026-01-01T10:00:00.123456Z'],
      [9, 0, '2026-01-01T10:00:01Z'],
    ];
    const base = `FROM unnest($1::int[], $2::int[], $3::timestamptz[]) AS a(id, held, last_assigned_at)`;
    const rows: { id: number; held: number; last_assigned_at: Date | null }[] = await q(`SELECT * ${base}`, [members.map((m) => m[0]), members.map((m) => m[1]), members.map((m) => m[2])]);
    const candidates: Candidate[] = rows.map((r) => ({ agentId: r.id, skills: [], maxConcurrent: 5, active: r.held, logged: true, paused: false, wrapUpUntil: null, lastAssignedAt: r.last_assigned_at }));
    for (const strategy of ['least-busy', 'longest-idle', 'round-robin'] as Strategy[]) {
      for (const last of [null, 1, 4, 9, 20]) {
        const sql: { id: number }[] = await q(`SELECT a.id ${base} ORDER BY ${strategyOrderSql('$4::text', 'a', 'a.held', '$5::int')}`, [
          members.map((m) => m[0]),
          members.map((m) => m[1]),
          members.map((m) => m[2]),
          strategy,
          last,
        ]);
        expect({ strategy, last, order: sql.map((r) => r.id) }).toEqual({ strategy, last, order: orderByStrategy(strategy, candidates, last).map((c) => c.agentId) });
      }
    }
  });
});

/**
 * Phase (j), agents: how long one allocation decision holds the cluster-wide allocation lock
 * with 10 logged-in agents and 50 active conversations, and with 1,000 agents and 5,000 active
 * conversations (the same load per agent; the 990 extra agents, their presence, membership and
 * conversations seeded with SQL). Conversations are started one after the other over HTTP, so
 * each decision runs alone; the hold time comes from the server's
 * `cc_allocation_lock_hold_seconds` histogram (lock acquired → commit done).
 */
import { createCustomers, createLoggedInAgents, Session } from '../lib/api';
import { JsonClient } from '../lib/http';
import { startOurServer } from '../lib/servers';
import type { Percentiles } from '../lib/stats';
import { fmt, growthDatabase, GrowthOptions, mdTable, sequentialLatency, times, withClient } from './growth-common';

export interface LockHold {
  count: number;
  meanMs: number;
  /** Upper bound of the histogram bucket holding the 99th percentile. */
  p99UpToMs: number;
}

export interface AgentsPoint {
  agents: number;
  active: number;
  hold: LockHold;
  start: Percentiles;
}

export interface AgentsResult {
  starts: number;
  small: AgentsPoint;
  large: AgentsPoint;
}

const PER_AGENT_ACTIVE = 5;
const CAPACITY = 50;

interface Histogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** The lock-hold histogram from /metrics, summed over its labels. */
export async function readLockHold(http: JsonClient): Promise<Histogram> {
  const res = await http.send<string>('GET', '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics → ${res.status}`);
  const h: Histogram = { buckets: new Map(), sum: 0, count: 0 };
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith('cc_allocation_lock_hold_seconds')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('cc_allocation_lock_hold_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(line)?.[1] ?? '+Inf';
      const bound = le === '+Inf' ? Infinity : Number(le);
      h.buckets.set(bound, (h.buckets.get(bound) ?? 0) + value);
    } else if (line.startsWith('cc_allocation_lock_hold_seconds_sum')) h.sum += value;
    else if (line.startsWith('cc_allocation_lock_hold_seconds_count')) h.count += value;
  }
  return h;
}

export function holdBetween(a: Histogram, b: Histogram): LockHold {
  const count = b.count - a.count;
  const bounds = [...b.buckets.keys()].sort((x, y) => x - y);
  const target = Math.ceil(0.99 * count);
  const p99 = bounds.find((bound) => (b.buckets.get(bound) ?? 0) - (a.buckets.get(bound) ?? 0) >= target) ?? Infinity;
  return { count, meanMs: count ? ((b.sum - a.sum) / count) * 1000 : NaN, p99UpToMs: p99 * 1000 };
}

async function seedActive(url: string, agentIds: number[], perAgent: number): Promise<void> {
  await withClient(url, async (client) => {
    const [{ id: queueId }] = (await client.query(`SELECT id FROM queues WHERE name = 'default'`)).rows;
    await client.query(
      `WITH a AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM unnest($1::int[]) AS u(id)),
            slots AS (SELECT a.id AS agent_id, k FROM a, generate_series(1, $2::int) k),
            c AS (INSERT INTO customers (name) SELECT 'Active customer ' || s.agent_id || '-' || s.k FROM slots s RETURNING id),
            paired AS (SELECT c.id AS customer_id, s.agent_id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM c) c
                       JOIN (SELECT agent_id, row_number() OVER (ORDER BY agent_id, k) AS n FROM slots) s USING (n))
       INSERT INTO conversations (customer_id, agent_id, queue_id, status, created_at, waiting_since, assigned_at)
       SELECT customer_id, agent_id, $3, 'active', now(), now(), now() FROM paired`,
      [agentIds, perAgent, queueId],
    );
  });
}

/** Agents with presence (logged in) and default-queue membership, straight into the tables. */
async function seedAgents(url: string, count: number): Promise<number[]> {
  return withClient(url, async (client) => {
    const [{ password_hash }] = (await client.query(`SELECT password_hash FROM agents ORDER BY id LIMIT 1`)).rows;
    const ids = (
      await client.query(
        `INSERT INTO agents (email, name, password_hash, max_concurrent)
         SELECT 'seeded-agent-' || g || '@bench.test', 'Seeded agent ' || g, $2, $3 FROM generate_series(1, $1::int) g RETURNING id`,
        [count, password_hash, CAPACITY],
      )
    ).rows.map((r: { id: number }) => r.id);
    await client.query(`INSERT INTO agent_presence (agent_id, logged, logged_at) SELECT unnest($1::int[]), true, now()`, [ids]);
    await client.query(`INSERT INTO queue_members (queue_id, agent_id) SELECT q.id, unnest($1::int[]) FROM queues q WHERE q.name = 'default'`, [ids]);
    return ids;
  });
}

async function measure(url: string, http: JsonClient, customers: Session[]): Promise<AgentsPoint> {
  const before = await readLockHold(http);
  const start = await sequentialLatency(customers.length, async (i) => {
    const res = await http.send<{ status?: string }>('POST', '/api/v1/conversations', { channel: 'web' }, customers[i].token);
    if (res.status !== 201 || res.body.status !== 'active') throw new Error(`start → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  });
  const hold = holdBetween(before, await readLockHold(http));
  const counts = await withClient(url, async (client) => (await client.query(`SELECT (SELECT count(*) FROM agent_presence WHERE logged)::int AS agents, (SELECT count(*) FROM conversations WHERE status = 'active')::int AS active`)).rows[0]);
  // Back to the same load for the next measurement.
  await withClient(url, (client) => client.query(`UPDATE conversations SET status = 'resolved', resolved_at = now(), resolved_by = 'agent' WHERE customer_id = ANY($1::int[]) AND status = 'active'`, [customers.map((c) => c.id)]));
  return { agents: counts.agents, active: counts.active - customers.length, hold, start };
}

export async function runAgents(options: GrowthOptions): Promise<AgentsResult> {
  const starts = options.quick ? 100 : 300;
  const large = options.quick ? 300 : 1000;
  const server = await startOurServer({ database: growthDatabase(options.database), label: 'agents' });
  const http = new JsonClient(server.url, 2);
  try {
    const url = server.databaseUrl as string;
    const accounts = await createLoggedInAgents(server.api, server.admin.token, 10, CAPACITY, 'lock');
    await seedActive(url, accounts.map((a) => a.id), PER_AGENT_ACTIVE);
    const customers = await createCustomers(server.api, 2 * starts, 'lock');
    const small = await measure(url, http, customers.slice(0, starts));
    options.log(`  agents (${small.agents} agents, ${small.active} active): lock held ${fmt(small.hold.meanMs, 2)} ms mean, start p99 ${fmt(small.start.p99, 1)} ms`);
    options.log(`  agents: seeding ${large - 10} agents and ${(large - 10) * PER_AGENT_ACTIVE} active conversations with SQL`);
    const seeded = await seedAgents(url, large - 10);
    await seedActive(url, seeded, PER_AGENT_ACTIVE);
    await withClient(url, (client) => client.query(`VACUUM ANALYZE agents, agent_presence, queue_members, conversations`));
    const big = await measure(url, http, customers.slice(starts));
    options.log(`  agents (${big.agents} agents, ${big.active} active): lock held ${fmt(big.hold.meanMs, 2)} ms mean, start p99 ${fmt(big.start.p99, 1)} ms`);
    return { starts, small, large: big };
  } finally {
    http.close();
    await server.stop();
  }
}

export function agentsSection(r: AgentsResult): string {
  const row = (p: AgentsPoint) => [
    `${p.agents} / ${p.active}`,
    String(p.hold.count),
    fmt(p.hold.meanMs, 2),
    `≤ ${fmt(p.hold.p99UpToMs, 1)}`,
    fmt(1000 / p.hold.meanMs, 0),
    `${fmt(p.start.p50, 1)} / ${fmt(p.start.p99, 1)}`,
  ];
  const ratio = r.large.hold.meanMs / r.small.hold.meanMs;
  return [
    `### Growth: ${r.large.agents.toLocaleString('en')} logged-in agents and ${r.large.active.toLocaleString('en')} active conversations (phase \`agents\`)`,
    '',
    `${r.starts} conversations started one after the other (each decided alone) against each setup; every agent in the default queue, capacity ${CAPACITY}, ${PER_AGENT_ACTIVE} active each. Lock hold: acquired → committed, from \`cc_allocation_lock_hold_seconds\`. "Decisions/s at saturation" is 1 / mean hold: the most one allocation lock lets the whole cluster decide, one decision per transaction (decisions that queue up on an instance share a transaction, which raises it under bursts).`,
    '',
    mdTable(['agents / active conversations', 'decisions', 'lock hold mean ms', 'p99 ms (bucket)', 'decisions/s at saturation', 'start p50 / p99 ms'], [row(r.small), row(r.large)]),
    '',
    mdTable(
      ['goal', 'measured (same run)', 'met'],
      [[`lock hold with ${r.large.agents} agents within 2× of ${r.small.agents}`, `${times(r.large.hold.meanMs, r.small.hold.meanMs)} (${fmt(r.large.hold.meanMs, 2)} vs ${fmt(r.small.hold.meanMs, 2)} ms)`, ratio <= 2 ? 'yes' : '**NO**']],
    ),
  ].join('\n');
}

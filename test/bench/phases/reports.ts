/**
 * Optional phase `reports` (issue 12): the statistics and report queries over a large history.
 * Seeds a fresh PostgreSQL database with generate_series — 1,000,000 conversations over the last
 * year (with their first assignment, first reply, resolution; 5% abandoned), 10,000 agents with
 * 100 state changes each, one allocation decision per assignment and 50,000 transfers — then
 * times each query of @cc/statistics (the same classes the server runs, called in process) and
 * reports the median and the worst of several runs. Needs PostgreSQL (not the embedded engine).
 */
import { performance } from 'perf_hooks';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '@cc/database';
import { ReportRollupRepository, ReportRollupService, ReportsRepository, ReportsService, StatsRepository, StatsService } from '@cc/statistics';
import { median } from '../lib/stats';

export interface ReportsOptions {
  /** A PostgreSQL URL; the phase creates (and drops) a database of its own beside it. */
  database: string;
  conversations: number;
  agents: number;
  runs: number;
  keep?: boolean;
  log: (line: string) => void;
}

export interface ReportTiming {
  query: string;
  medianMs: number;
  maxMs: number;
  rows: number;
}

export interface ReportsResult {
  conversations: number;
  agents: number;
  historyRows: number;
  seedMs: number;
  /** The rollup's first catch-up over the seeded year (what an instance does once after the migration). */
  rollupMs: number;
  timings: ReportTiming[];
}

const DAY = 86_400_000;

export async function runReports(options: ReportsOptions): Promise<ReportsResult> {
  if (!/^postgres(ql)?:\/\//.test(options.database)) throw new Error('the reports phase needs PostgreSQL (--db=postgres or a URL)');
  const name = `cc_bench_reports_${process.pid}`;
  options.log(`reports: database ${name}${options.keep ? ' (kept afterwards: BENCH_KEEP_DB)' : ''}`);
  const admin = new Client({ connectionString: options.database });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(options.database);
  url.pathname = `/${name}`;
  const ds = new DataSource({ type: 'postgres', url: url.toString(), migrations: MIGRATIONS, extra: { max: 4 } });
  try {
    await ds.initialize();
    await ds.runMigrations();
    const seedStarted = performance.now();
    const historyRows = await seed(ds, options);
    const seedMs = performance.now() - seedStarted;
    options.log(`reports: seeded in ${(seedMs / 1000).toFixed(0)} s; timing ${options.runs} runs per query`);

    const rollupStarted = performance.now();
    await new ReportRollupService(ds, new ReportRollupRepository()).rollUp();
    const rollupMs = performance.now() - rollupStarted;
    options.log(`reports: rolled up in ${(rollupMs / 1000).toFixed(1)} s`);

    const reports = new ReportsService(ds, new ReportsRepository(), new ReportRollupRepository());
    const stats = new StatsService(ds, new StatsRepository());
    const now = Date.now();
    const iso = (t: number) => new Date(t).toISOString();
    const [queue]: { id: number }[] = await ds.query(`SELECT id FROM queues WHERE name = 'bench-1'`);
    const [agent]: { id: number }[] = await ds.query(`SELECT min(id) AS id FROM agents`);
    const conv = (from: number, interval: 'hour' | 'day', tz: string, extra: { queueId?: number; agentId?: number } = {}, rollup = true) =>
      reports.conversations({ from: iso(from), to: iso(now), interval, tz, ...extra }, { rollup }).then((r) => r.buckets.length);
    const queries: [string, () => Promise<number>][] = [
      ['GET /reports/conversations, 366 days by day (UTC)', () => conv(now - 366 * DAY, 'day', 'UTC')],
      ['  the same from raw rows only (no rollup; the reference)', () => conv(now - 366 * DAY, 'day', 'UTC', {}, false)],
      ['GET /reports/conversations, 366 days by day (Asia/Kathmandu, +5:45)', () => conv(now - 366 * DAY, 'day', 'Asia/Kathmandu')],
      ['GET /reports/conversations, 366 days by day (America/New_York)', () => conv(now - 366 * DAY, 'day', 'America/New_York')],
      ['GET /reports/conversations, 366 days by hour (Europe/Berlin)', () => conv(now - 366 * DAY, 'hour', 'Europe/Berlin')],
      ['GET /reports/conversations, 30 days by day, one queue', () => conv(now - 30 * DAY, 'day', 'UTC', { queueId: queue.id })],
      ['GET /reports/conversations, 366 days by day, one agent', () => conv(now - 366 * DAY, 'day', 'UTC', { agentId: agent.id })],
      ['GET /reports/conversations, 1 day by hour', () => conv(now - DAY, 'hour', 'UTC')],
      ['GET /reports/agents, 1 day (10,000 agents)', () => reports.agents({ from: iso(now - DAY), to: iso(now) }).then((r) => r.length)],
      ['GET /reports/agents, 30 days (10,000 agents)', () => reports.agents({ from: iso(now - 30 * DAY), to: iso(now) }).then((r) => r.length)],
      ['GET /stats/queues', () => stats.queues().then((r) => r.length)],
      ['GET /stats/agents (10,000 agents)', () => stats.agents().then((r) => r.length)],
    ];
    const timings: ReportTiming[] = [];
    for (const [query, run] of queries) {
      await run(); // warm the cache and the plan
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < options.runs; i++) {
        const t0 = performance.now();
        rows = await run();
        times.push(performance.now() - t0);
      }
      timings.push({ query, medianMs: median(times), maxMs: Math.max(...times), rows });
      options.log(`reports: ${query}: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
    }
    return { conversations: options.conversations, agents: options.agents, historyRows, seedMs, rollupMs, timings };
  } finally {
    if (ds.isInitialized) await ds.destroy();
    if (!options.keep) await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

/** The whole history in a few set-based statements. Answers the number of state-history rows. */
async function seed(ds: DataSource, { conversations, agents, log }: ReportsOptions): Promise<number> {
  const step = async (what: string, sql: string, params: unknown[] = []) => {
    const t0 = performance.now();
    await ds.query(sql, params);
    log(`reports: seed ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };
  await step('queues', `INSERT INTO queues (name, sla_seconds) SELECT 'bench-' || g, 30 + 10 * g FROM generate_series(1, 10) g`);
  await step('agents', `INSERT INTO agents (email, name, password_hash) SELECT 'bench-' || g || '@example.com', 'Agent ' || g, 'x' FROM generate_series(1, $1::int) g`, [agents]);
  await step('customers', `INSERT INTO customers (name) SELECT 'Customer ' || g FROM generate_series(1, 100000) g`);
  // Spread evenly over the last 365 days; 5% abandoned (resolved unassigned), the rest assigned
  // within 0-120 s, answered within 0-60 s, resolved within 1-30 min.
  await step(
    `${conversations} conversations`,
    `WITH ids AS (SELECT (SELECT min(id) FROM agents) AS agent0, (SELECT min(id) FROM customers) AS customer0,
                         (SELECT array_agg(id ORDER BY id) FROM queues WHERE name LIKE 'bench-%') AS queues),
     g AS (SELECT g, now() - interval '365 days' + (g::float8 / $1) * interval '365 days' AS created, (g % 20 = 0) AS abandoned FROM generate_series(1, $1::int) g)
     INSERT INTO conversations (customer_id, agent_id, queue_id, channel, status, created_at, waiting_since, assigned_at, first_assigned_at,
                                first_response_at, first_response_agent_id, resolved_at, resolved_by)
     SELECT ids.customer0 + g.g % 100000, CASE WHEN g.abandoned THEN NULL ELSE ids.agent0 + g.g % $2 END, ids.queues[1 + g.g % 10],
            'web', 'resolved', g.created, g.created,
            a.at, a.at, a.at + (g.g % 61) * interval '1 second', CASE WHEN g.abandoned THEN NULL ELSE ids.agent0 + g.g % $2 END,
            CASE WHEN g.abandoned THEN g.created + interval '90 seconds' ELSE a.at + (60 + g.g % 1740) * interval '1 second' END,
            CASE WHEN g.abandoned THEN 'customer' ELSE 'agent' END
     FROM g CROSS JOIN ids CROSS JOIN LATERAL (SELECT CASE WHEN g.abandoned THEN NULL ELSE g.created + (g.g % 121) * interval '1 second' END AS at) a`,
    [conversations, agents],
  );
  await step(
    'allocation decisions',
    `INSERT INTO allocation_decisions (conversation_id, at, trigger, strategy, candidates, outcome, agent_id)
     SELECT id, first_assigned_at, 'conversation-started', 'least-busy', '[]', 'assigned', agent_id FROM conversations WHERE first_assigned_at IS NOT NULL`,
  );
  await step(
    'transfers',
    `INSERT INTO conversation_transfers (conversation_id, at, from_agent_id, to_agent_id, from_queue_id, to_queue_id)
     SELECT id, first_assigned_at + interval '30 seconds', agent_id, agent_id, queue_id, queue_id FROM conversations WHERE first_assigned_at IS NOT NULL AND id % 19 = 0`,
  );
  const perAgent = 100;
  await step(
    `state history (${agents} agents × ${perAgent})`,
    `INSERT INTO agent_state_history (agent_id, from_state, to_state, reason, at)
     SELECT a.id, s.states[1 + (k + 4) % 5], s.states[1 + k % 5], 'bench',
            now() - interval '365 days' + ((k::float8 + (a.id % 97) / 97.0) / $1) * interval '365 days'
     FROM agents a CROSS JOIN generate_series(0, $1::int - 1) k
     CROSS JOIN (SELECT ARRAY['available', 'busy', 'available', 'paused', 'offline']::varchar[] AS states) s`,
    [perAgent],
  );
  await step('analyze', `ANALYZE`);
  return agents * perAgent;
}

export function renderReportsSection(r: ReportsResult | { error: string }): string {
  if ('error' in r) return `### Reports (issue 12)\n\nfailed: ${r.error}`;
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    '### Reports (issue 12)',
    '',
    `${r.conversations.toLocaleString('en-US')} conversations, ${r.agents.toLocaleString('en-US')} agents, ${r.historyRows.toLocaleString('en-US')} state-history rows (seeded in ${(r.seedMs / 1000).toFixed(0)} s; first rollup ${(r.rollupMs / 1000).toFixed(1)} s); each query warmed once, then timed.`,
    '',
    line(['query', 'median ms', 'max ms', 'rows', 'under 500 ms']),
    line(['---', '---', '---', '---', '---']),
    ...r.timings.map((t) => line([t.query, t.medianMs.toFixed(1), t.maxMs.toFixed(1), String(t.rows), t.maxMs < 500 ? 'yes' : '**NO**'])),
  ].join('\n');
}

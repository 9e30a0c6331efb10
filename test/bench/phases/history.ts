/**
 * Phase (h), history: does a big database slow the message path and the read paths down?
 * One server, the pairs workload measured on the fresh database, then 100,000 resolved
 * conversations with 1,000,000 messages seeded by SQL (generate_series, spread over the pairs'
 * agents so that their `stats` have history to count, messages of different conversations
 * interleaved as in real life), then measured again once the server's report rollup has taken
 * them and a CHECKPOINT has flushed the seed (see `settle`). Also `GET /conversations/:id/messages?before=`
 * and `GET /agents?limit=100`, one request after the other, before and after.
 *
 * Each database gets three message runs (one in quick mode), and the latency figures are their
 * medians: the p99 of one 15-s run is set by its worst stall of the shared machine (the commits
 * wait on WAL writes and fsyncs of the one PostgreSQL cluster every bench and suite here uses),
 * so that single runs of the same code put the grown/fresh ratio anywhere in 0.6–3.6×.
 */
import { JsonClient } from '../lib/http';
import { startOurServer } from '../lib/servers';
import type { Percentiles } from '../lib/stats';
import { ourPairs } from './throughput';
import { closeGenerator, fmt, growthDatabase, GrowthOptions, mdTable, messageRun, MessageRun, openGenerator, sequentialLatency, times, withClient } from './growth-common';

export interface HistoryPoint {
  storedMessages: number;
  storedConversations: number;
  cpuUsPerMsg: number;
  postgresUsPerMsg: number;
  e2eP50: number;
  e2eP99: number;
  /** The e2e p99 of each run (e2eP99 is their median, as e2eP50 and ackP99 are of theirs). */
  e2eP99Runs: number[];
  ackP99: number;
  lost: number;
  dup: number;
  historyBefore: Percentiles;
  agentsPage: Percentiles;
}

export interface HistoryResult {
  pairs: number;
  rate: number;
  durationS: number;
  /** Message runs per database. */
  runs: number;
  seedMs: number;
  /** From the seed's end until the report rollup had taken the seeded conversations (then a CHECKPOINT). */
  settleMs: number;
  empty: HistoryPoint;
  grown: HistoryPoint;
}

const SEED_CONVERSATIONS = 100_000;
const MESSAGES_PER_CONVERSATION = 10;

async function seed(url: string, agentIds: number[], conversations: number, perConversation: number): Promise<void> {
  await withClient(url, async (client) => {
    const [{ id: queueId }] = (await client.query(`SELECT id FROM queues WHERE name = 'default'`)).rows;
    const [{ first }] = (await client.query(`SELECT coalesce(max(id), 0) + 1 AS first FROM conversations`)).rows;
    await client.query(
      `WITH c AS (INSERT INTO customers (name) SELECT 'Seeded customer ' || g FROM generate_series(1, $1::int) g RETURNING id)
       INSERT INTO conversations (customer_id, agent_id, queue_id, status, created_at, waiting_since, assigned_at, resolved_at, resolved_by)
       SELECT c.id, ($2::int[])[1 + c.id % cardinality($2::int[])], $3, 'resolved', t, t, t, t + interval '5 minutes', 'agent'
       FROM c, LATERAL (SELECT now() - interval '60 days' + (c.id % 100000) * interval '50 seconds' AS t) x`,
      [conversations, agentIds, queueId],
    );
    // Interleaved (k outer): one conversation's messages lie on different pages, as when many chats run at once.
    await client.query(
      `INSERT INTO messages (conversation_id, sender_type, sender_id, text, created_at)
       SELECT c.id, CASE WHEN k % 2 = 1 THEN 'customer' ELSE 'agent' END, CASE WHEN k % 2 = 1 THEN c.customer_id ELSE c.agent_id END,
              'seeded message ' || k || ' ' || repeat('x', 80), c.created_at + k * interval '10 seconds'
       FROM generate_series(1, $2::int) k, conversations c WHERE c.id >= $1 ORDER BY k, c.id`,
      [first, perConversation],
    );
    // What autovacuum would have done to tables that grew over months (the counters took one
    // update per seeded conversation, at its commit).
    await client.query(`VACUUM ANALYZE customers`);
    await client.query(`VACUUM ANALYZE conversations`);
    await client.query(`VACUUM ANALYZE messages`);
    await client.query(`VACUUM ANALYZE agent_conversation_counts`);
  });
}

const ROLLUP_WAIT_MS = 150_000;

/**
 * What a database that grew over months would not be doing while it is measured. The server's
 * report rollup (every 60 s) takes the 100,000 seeded conversations in one run, 1–2 s of one
 * PostgreSQL core spilling to disk, where a live system rolls up a minute of traffic per run: wait
 * until it has (the watermark's id past the seeded ones). Then a CHECKPOINT, so that the seed's
 * gigabyte of writes is on disk before the commits being measured wait for their own fsyncs
 * (else the checkpoint the seed's WAL started spreads over the next minutes of the run).
 * Answers how long the rollup took to catch up, and the CHECKPOINT's error (it needs superuser or
 * pg_checkpoint) if any.
 */
async function settle(url: string): Promise<{ ms: number; checkpointError?: string }> {
  const started = Date.now();
  return withClient(url, async (client) => {
    const [{ last }] = (await client.query(`SELECT coalesce(max(id), 0)::int AS last FROM conversations`)).rows;
    for (;;) {
      const [row] = (await client.query(`SELECT rolled_id FROM conversation_report_watermark`)).rows;
      if (row && Number(row.rolled_id) >= last) break;
      if (Date.now() - started > ROLLUP_WAIT_MS) throw new Error(`the report rollup did not reach conversation ${last} within ${ROLLUP_WAIT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const ms = Date.now() - started;
    const checkpointError = await client.query('CHECKPOINT').then(
      () => undefined,
      (error: Error) => error.message,
    );
    return { ms, checkpointError };
  });
}

async function reads(url: string, http: JsonClient, adminToken: string, requests: number): Promise<{ historyBefore: Percentiles; agentsPage: Percentiles; messages: number; conversations: number }> {
  // Conversations with the most messages, and a `before` in the middle of each one's history.
  const targets = await withClient(url, async (client) => {
    const rows = (
      await client.query(
        `SELECT conversation_id AS id, (min(id) + max(id)) / 2 AS before FROM messages
         WHERE conversation_id IN (SELECT id FROM conversations ORDER BY random() LIMIT $1) GROUP BY conversation_id`,
        [requests],
      )
    ).rows as { id: number; before: string }[];
    const [{ m, c }] = (await client.query(`SELECT (SELECT count(*) FROM messages)::int AS m, (SELECT count(*) FROM conversations)::int AS c`)).rows;
    return { rows, messages: m as number, conversations: c as number };
  });
  const get = async (path: string) => {
    const res = await http.send('GET', path, undefined, adminToken);
    if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  };
  const historyBefore = await sequentialLatency(targets.rows.length, (i) => get(`/api/v1/conversations/${targets.rows[i].id}/messages?before=${targets.rows[i].before}&limit=50`));
  const agentsPage = await sequentialLatency(requests, () => get('/api/v1/agents?limit=100'));
  return { historyBefore, agentsPage, messages: targets.messages, conversations: targets.conversations };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** `count` fixed-rate runs one after the other. */
async function messageRuns(generator: Parameters<typeof messageRun>[0], params: Parameters<typeof messageRun>[1], pid: number, count: number): Promise<MessageRun[]> {
  const runs: MessageRun[] = [];
  for (let i = 0; i < count; i++) runs.push(await messageRun(generator, params, { server: pid }));
  return runs;
}

function point(runs: MessageRun[], serverKey: string, r: Awaited<ReturnType<typeof reads>>): HistoryPoint {
  const delivered = sum(runs.map((run) => run.result.delivered));
  const perMessage = (cpuMs: number) => (delivered ? (cpuMs * 1000) / delivered : NaN);
  return {
    storedMessages: r.messages,
    storedConversations: r.conversations,
    cpuUsPerMsg: perMessage(sum(runs.map((run) => run.cpuMs[serverKey]))),
    postgresUsPerMsg: perMessage(sum(runs.map((run) => run.postgresCpuMs))),
    e2eP50: median(runs.map((run) => run.result.e2e.p50)),
    e2eP99: median(runs.map((run) => run.result.e2e.p99)),
    e2eP99Runs: runs.map((run) => run.result.e2e.p99),
    ackP99: median(runs.map((run) => run.result.ack.p99)),
    lost: sum(runs.map((run) => run.result.lost + run.result.ackErrors)),
    dup: sum(runs.map((run) => run.result.duplicated + run.result.misrouted)),
    historyBefore: r.historyBefore,
    agentsPage: r.agentsPage,
  };
}

export async function runHistory(options: GrowthOptions): Promise<HistoryResult> {
  const pairs = options.quick ? 100 : 200;
  const rate = 1000;
  const durationS = options.quick ? 5 : 15;
  const conversations = options.quick ? SEED_CONVERSATIONS / 10 : SEED_CONVERSATIONS;
  const requests = options.quick ? 100 : 300;
  const runs = options.quick ? 1 : 3;
  const server = await startOurServer({ database: growthDatabase(options.database), label: 'history' });
  const http = new JsonClient(server.url, 4);
  try {
    const url = server.databaseUrl as string;
    options.log(`  history: ${pairs} pairs through the API`);
    const init = await ourPairs(server, pairs, 50, 'hist');
    const generator = await openGenerator(init, 'history');
    try {
      const params = { rate, durationS, drainS: 3 };
      const emptyRuns = await messageRuns(generator, params, server.pid, runs);
      const empty = point(emptyRuns, 'server', await reads(url, http, server.admin.token, requests));
      options.log(`  history (empty): ${fmt(empty.cpuUsPerMsg)} µs/msg, e2e p99 ${fmt(empty.e2eP99, 2)} ms, history p99 ${fmt(empty.historyBefore.p99, 2)} ms, agents p99 ${fmt(empty.agentsPage.p99, 2)} ms`);
      options.log(`  history: seeding ${conversations} conversations × ${MESSAGES_PER_CONVERSATION} messages with SQL`);
      const seedStarted = Date.now();
      await seed(url, init.agentIds, conversations, MESSAGES_PER_CONVERSATION);
      const seedMs = Date.now() - seedStarted;
      const { ms: settleMs, checkpointError } = await settle(url);
      options.log(`  history: seeded in ${(seedMs / 1000).toFixed(0)} s; the report rollup caught up ${(settleMs / 1000).toFixed(0)} s later; ${checkpointError ? `CHECKPOINT refused (${checkpointError})` : 'CHECKPOINT done'}`);
      await generator.call('run', { rate: 500, durationS: 2, drainS: 3 }, 60_000); // warm the new plans and pages
      const grownRuns = await messageRuns(generator, params, server.pid, runs);
      const grown = point(grownRuns, 'server', await reads(url, http, server.admin.token, requests));
      options.log(`  history (grown, seeded in ${(seedMs / 1000).toFixed(0)} s): ${fmt(grown.cpuUsPerMsg)} µs/msg, e2e p99 ${fmt(grown.e2eP99, 2)} ms, history p99 ${fmt(grown.historyBefore.p99, 2)} ms, agents p99 ${fmt(grown.agentsPage.p99, 2)} ms`);
      return { pairs, rate, durationS, runs, seedMs, settleMs, empty, grown };
    } finally {
      await closeGenerator(generator);
    }
  } finally {
    http.close();
    await server.stop();
  }
}

export function historySection(r: HistoryResult): string {
  const row = (label: string, p: HistoryPoint) => [
    label,
    `${p.storedMessages.toLocaleString('en')} / ${p.storedConversations.toLocaleString('en')}`,
    fmt(p.cpuUsPerMsg),
    fmt(p.postgresUsPerMsg),
    fmt(p.e2eP50, 2),
    fmt(p.e2eP99, 2),
    fmt(p.ackP99, 2),
    `${p.lost} / ${p.dup}`,
    fmt(p.historyBefore.p99, 2),
    fmt(p.agentsPage.p99, 2),
  ];
  const ok = (b: boolean) => (b ? 'yes' : '**NO**');
  return [
    `### Growth: ${r.grown.storedMessages.toLocaleString('en')} stored messages in ${r.grown.storedConversations.toLocaleString('en')} conversations (phase \`history\`)`,
    '',
    `${r.pairs} pairs at ${r.rate} msg/s, ${r.runs ?? 1} run${(r.runs ?? 1) > 1 ? 's' : ''} of ${r.durationS} s on the fresh database, then again after seeding with SQL (${fmt(r.seedMs / 1000, 0)} s), once the report rollup had taken the seeded conversations (${fmt((r.settleMs ?? NaN) / 1000, 0)} s later) and a \`CHECKPOINT\`; the same server process; latencies are the runs' medians (e2e p99 of each run: fresh ${r.empty.e2eP99Runs.map((v) => fmt(v, 1)).join(' / ')} ms, grown ${r.grown.e2eP99Runs.map((v) => fmt(v, 1)).join(' / ')} ms). Reads one after the other (admin token): a page of 50 before the middle of a random conversation's history, and \`GET /agents?limit=100\`.`,
    '',
    mdTable(
      ['database', 'messages / conversations', 'server µs/msg', 'postgres µs/msg', 'e2e p50 ms', 'e2e p99 ms', 'ack p99 ms', 'lost / dup', 'history `before=` p99 ms', '`GET /agents?limit=100` p99 ms'],
      [row('fresh', r.empty), row('grown', r.grown)],
    ),
    '',
    mdTable(
      ['goal', 'grown vs fresh (same run)', 'met'],
      [
        ['CPU per message within 20%', times(r.grown.cpuUsPerMsg, r.empty.cpuUsPerMsg), ok(r.grown.cpuUsPerMsg <= 1.2 * r.empty.cpuUsPerMsg)],
        ['e2e p99 (median of the runs) within 20%', `${times(r.grown.e2eP99, r.empty.e2eP99)} (${fmt(r.grown.e2eP99, 2)} vs ${fmt(r.empty.e2eP99, 2)} ms)`, ok(r.grown.e2eP99 <= 1.2 * r.empty.e2eP99)],
        ['history `before=` p99 ≤ 20 ms', `${fmt(r.grown.historyBefore.p99, 2)} ms (fresh ${fmt(r.empty.historyBefore.p99, 2)})`, ok(r.grown.historyBefore.p99 <= 20)],
        ['`GET /agents?limit=100` p99 ≤ 20 ms', `${fmt(r.grown.agentsPage.p99, 2)} ms (fresh ${fmt(r.empty.agentsPage.p99, 2)})`, ok(r.grown.agentsPage.p99 <= 20)],
        ['0 lost, 0 duplicated', `${r.empty.lost + r.grown.lost} lost, ${r.empty.dup + r.grown.dup} dup`, ok(r.empty.lost + r.grown.lost + r.empty.dup + r.grown.dup === 0)],
      ],
    ),
  ].join('\n');
}

/**
 * Phase (h), history: does a big database slow the message path and the read paths down?
 * Two servers of the same build, each on a database of its own: a fresh one, and one grown by
 * 100,000 resolved conversations with 1,000,000 messages seeded by SQL (generate_series, spread
 * over its pairs' agents so that their `stats` have history to count, messages of different
 * conversations interleaved as in real life), measured once that server's report rollup has taken
 * them and a CHECKPOINT has flushed the seed (see `settle`). The pairs workload runs on one and
 * then the other, taking turns (fresh, grown, grown, fresh, ...); then
 * `GET /conversations/:id/messages?before=` and `GET /agents?limit=100`, one request after the
 * other, on each.
 *
 * Why two servers taking turns rather than one server measured before and after its seed: the
 * commits of a message run wait on WAL writes and fsyncs of the one PostgreSQL cluster that every
 * bench and suite here uses, and other sessions' checkpoints (each DROP DATABASE of a test suite
 * requests one) make the commits after them write full-page images. Runs minutes apart met
 * different neighbours: on 2026-12-04 at 03:04Z and 03:08Z the fresh runs had 7 and 3 checkpoints
 * (about 8,000 full-page images, 64–67 MB of WAL) and the grown ones none (610 and 1,534, 35–36
 * MB), and the grown/fresh e2e p99 came out 0.56× and 0.65×; earlier runs of the same method gave
 * 0.6–10.8×. Taking turns gives both databases the same neighbours, and the checkpoints that fell
 * in each one's runs are reported beside the figures.
 *
 * Each database gets three message runs (one in quick mode), and the latency figures are their
 * medians: the p99 of one 15-s run is set by its worst stall of the shared machine.
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
  /** What the whole PostgreSQL cluster did during this database's message runs (other sessions included). */
  cluster: ClusterDelta;
}

export interface HistoryResult {
  pairs: number;
  rate: number;
  durationS: number;
  /** Message runs per database. */
  runs: number;
  seedMs: number;
  /** From the seed's end until the grown server's report rollup had taken the seeded conversations (then a CHECKPOINT). */
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

/** Checkpoints and WAL of the whole cluster (pg_stat_bgwriter, pg_stat_wal), whoever caused them. */
interface ClusterDelta {
  checkpoints: number;
  walFpi: number;
  walBytes: number;
}

const clusterCounters = (url: string): Promise<ClusterDelta> =>
  withClient(url, async (client) => {
    const [row] = (
      await client.query(
        `SELECT (checkpoints_timed + checkpoints_req)::int AS checkpoints, wal_fpi::float8 AS "walFpi", wal_bytes::float8 AS "walBytes"
         FROM pg_stat_bgwriter, pg_stat_wal`,
      )
    ).rows;
    return row as ClusterDelta;
  });

interface Side {
  label: string;
  generator: Parameters<typeof messageRun>[0];
  pid: number;
  url: string;
  runs: MessageRun[];
  cluster: ClusterDelta;
}

/** One fixed-rate run on `side`, with what the cluster did meanwhile. */
async function runOn(side: Side, params: Parameters<typeof messageRun>[1], log: (line: string) => void): Promise<void> {
  const before = await clusterCounters(side.url);
  const run = await messageRun(side.generator, params, { server: side.pid });
  side.runs.push(run);
  const after = await clusterCounters(side.url);
  log(`  history: ${side.label} run ${side.runs.length}: e2e p50 / p99 ${fmt(run.result.e2e.p50, 2)} / ${fmt(run.result.e2e.p99, 2)} ms, ${after.checkpoints - before.checkpoints} checkpoints`);
  side.cluster.checkpoints += after.checkpoints - before.checkpoints;
  side.cluster.walFpi += after.walFpi - before.walFpi;
  side.cluster.walBytes += after.walBytes - before.walBytes;
}

function point({ runs, cluster }: Side, serverKey: string, r: Awaited<ReturnType<typeof reads>>): HistoryPoint {
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
    cluster,
  };
}

export async function runHistory(options: GrowthOptions): Promise<HistoryResult> {
  const pairs = options.quick ? 100 : 200;
  const rate = 1000;
  const durationS = options.quick ? 5 : 15;
  const conversations = options.quick ? SEED_CONVERSATIONS / 10 : SEED_CONVERSATIONS;
  const requests = options.quick ? 100 : 300;
  const runs = options.quick ? 1 : 3;
  const database = growthDatabase(options.database);
  const freshServer = await startOurServer({ database, label: 'history-fresh' });
  const closing: (() => Promise<unknown>)[] = [() => freshServer.stop()];
  try {
    const grownServer = await startOurServer({ database, label: 'history-grown' });
    closing.push(() => grownServer.stop());
    options.log(`  history: ${pairs} pairs through the API on each of two servers`);
    const freshInit = await ourPairs(freshServer, pairs, 50, 'histf');
    const grownInit = await ourPairs(grownServer, pairs, 50, 'histg');
    const grownUrl = grownServer.databaseUrl as string;
    options.log(`  history: seeding the second database with ${conversations} conversations × ${MESSAGES_PER_CONVERSATION} messages with SQL`);
    const seedStarted = Date.now();
    await seed(grownUrl, grownInit.agentIds, conversations, MESSAGES_PER_CONVERSATION);
    const seedMs = Date.now() - seedStarted;
    const { ms: settleMs, checkpointError } = await settle(grownUrl);
    options.log(`  history: seeded in ${(seedMs / 1000).toFixed(0)} s; the report rollup caught up ${(settleMs / 1000).toFixed(0)} s later; ${checkpointError ? `CHECKPOINT refused (${checkpointError})` : 'CHECKPOINT done'}`);
    // Each generator's warm-up run also warms its server's plans (on the grown one, the new pages).
    const side = async (server: typeof freshServer, init: typeof freshInit, label: string): Promise<Side> => {
      const generator = await openGenerator(init, `history-${label}`);
      closing.push(() => closeGenerator(generator));
      return { label, generator, pid: server.pid, url: server.databaseUrl as string, runs: [], cluster: { checkpoints: 0, walFpi: 0, walBytes: 0 } };
    };
    const fresh = await side(freshServer, freshInit, 'fresh');
    const grown = await side(grownServer, grownInit, 'grown');
    const params = { rate, durationS, drainS: 3 };
    for (let i = 0; i < runs; i++) for (const s of i % 2 ? [grown, fresh] : [fresh, grown]) await runOn(s, params, options.log);
    const result = async (s: Side, server: typeof freshServer, label: string): Promise<HistoryPoint> => {
      const http = new JsonClient(server.url, 4);
      try {
        const p = point(s, 'server', await reads(s.url, http, server.admin.token, requests));
        options.log(`  history (${label}): ${fmt(p.cpuUsPerMsg)} µs/msg, e2e p99 ${fmt(p.e2eP99, 2)} ms, history p99 ${fmt(p.historyBefore.p99, 2)} ms, agents p99 ${fmt(p.agentsPage.p99, 2)} ms, ${p.cluster.checkpoints} checkpoints in its runs`);
        return p;
      } finally {
        http.close();
      }
    };
    const empty = await result(fresh, freshServer, 'fresh');
    const grownPoint = await result(grown, grownServer, 'grown');
    return { pairs, rate, durationS, runs, seedMs, settleMs, empty, grown: grownPoint };
  } finally {
    for (const close of closing.reverse()) await close().catch(() => undefined);
  }
}

const fmtCount = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en'));

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
    `${r.pairs} pairs at ${r.rate} msg/s, ${r.runs ?? 1} run${(r.runs ?? 1) > 1 ? 's' : ''} of ${r.durationS} s on each of two servers of this build, one on a fresh database and one on a database seeded with SQL (${fmt(r.seedMs / 1000, 0)} s) and measured once its report rollup had taken the seeded conversations (${fmt((r.settleMs ?? NaN) / 1000, 0)} s later) and a \`CHECKPOINT\`; the two take turns (fresh, grown, grown, fresh, …) so that both meet the same neighbours on the shared PostgreSQL (see the phase's comment); latencies are the runs' medians (e2e p99 of each run: fresh ${r.empty.e2eP99Runs.map((v) => fmt(v, 1)).join(' / ')} ms, grown ${r.grown.e2eP99Runs.map((v) => fmt(v, 1)).join(' / ')} ms). Checkpoints of the cluster during the runs (any session's): fresh ${r.empty.cluster?.checkpoints ?? '–'} (${fmtCount(r.empty.cluster?.walFpi)} full-page images, ${fmt((r.empty.cluster?.walBytes ?? NaN) / 1e6, 0)} MB of WAL), grown ${r.grown.cluster?.checkpoints ?? '–'} (${fmtCount(r.grown.cluster?.walFpi)}, ${fmt((r.grown.cluster?.walBytes ?? NaN) / 1e6, 0)} MB). Reads one after the other (admin token), on each server after all the message runs: a page of 50 before the middle of a random conversation's history, and \`GET /agents?limit=100\`.`,
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

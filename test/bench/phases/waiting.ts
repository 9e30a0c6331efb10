/**
 * Phase (i), waiting: 10,000 customers wait in one queue, each with its socket, while 100 agents
 * resolve 50 conversations per second (each resolve frees a slot that the head of the line
 * takes) and chat with 100 other customers. Measures the chats' acks, whether every waiting
 * customer hears its new position at least every 5 s, and the server's CPU.
 * The waiting conversations and their customers are seeded with SQL (tokens minted, lib/tokens.ts),
 * then a CHECKPOINT (superuser or pg_checkpoint; refused, it is noted and the phase goes on).
 */
import { mapLimit } from '../lib/concurrency';
import { forkBenchScript, stopChild } from '../lib/children';
import { cpuTimeMs } from '../lib/proc';
import type { ConnectReport, LoadResult } from '../lib/protocol';
import { ChildRpc } from '../lib/rpc';
import { startOurServer } from '../lib/servers';
import { mintToken } from '../lib/tokens';
import type { LineHolderInit, LineReport } from '../line-holder';
import { ourPairs } from './throughput';
import { closeGenerator, fmt, growthDatabase, GrowthOptions, mdTable, openGenerator, withClient } from './growth-common';

export interface WaitingResult {
  waiting: number;
  agents: number;
  resolveRate: number;
  chatRate: number;
  windowS: number;
  serverCores: number;
  resolvedPerS: number;
  resolveErrors: number;
  resolveErrorSamples: Record<string, number>;
  chats: Pick<LoadResult, 'sent' | 'delivered' | 'lost' | 'ackErrors'> & { ackP50: number; ackP99: number; e2eP99: number };
  line: Omit<LineReport, 'resolved' | 'resolveErrors' | 'resolveErrorSamples' | 'resolveAckP99' | 'customers'> & { pushesPerS: number };
  resolveAckP99: number;
  waitingAfter: number;
  connectS: number;
}

const PER_HOLDER = 5000;

export async function runWaiting(options: GrowthOptions): Promise<WaitingResult> {
  const waiting = options.quick ? 2000 : 10_000;
  const agentCount = 100;
  const resolveRate = 50;
  const chatRate = 200;
  const windowS = options.quick ? 10 : 30;
  const server = await startOurServer({ database: growthDatabase(options.database), label: 'waiting' });
  const holders: ChildRpc[] = [];
  try {
    const url = server.databaseUrl as string;
    options.log(`  waiting: ${agentCount} agents (capacity 1) with one chat each, through the API`);
    const init = await ourPairs(server, agentCount, 1, 'wait');
    options.log(`  waiting: seeding ${waiting} waiting conversations with SQL`);
    const customerIds = await withClient(url, async (client) => {
      const [{ id: queueId }] = (await client.query(`SELECT id FROM queues WHERE name = 'default'`)).rows;
      const rows = (
        await client.query(
          `WITH c AS (INSERT INTO customers (name) SELECT 'Waiting customer ' || g FROM generate_series(1, $1::int) g RETURNING id)
           INSERT INTO conversations (customer_id, queue_id, status, created_at, waiting_since)
           SELECT c.id, $2, 'queued', t, t FROM c, LATERAL (SELECT now() - interval '1 hour' + c.id * interval '1 ms' AS t) x
           RETURNING customer_id`,
          [waiting, queueId],
        )
      ).rows as { customer_id: number }[];
      await client.query(`VACUUM ANALYZE conversations`);
      // As `history` does: the seed's writes on disk before the window, so that a checkpoint the
      // seed's WAL started does not run (with its full-page writes) while the acks are measured.
      const checkpointError = await client.query('CHECKPOINT').then(
        () => undefined,
        (error: Error) => error.message,
      );
      options.log(`  waiting: ${checkpointError ? `CHECKPOINT refused (${checkpointError})` : 'CHECKPOINT done'}`);
      return rows.map((r) => r.customer_id);
    });
    const tokens = customerIds.map((id) => mintToken(server.jwtSecret, 'customer', id));
    const keep = init.customers.map((c) => c.conversationId);
    const holderInits: LineHolderInit[] = [{ url: server.url, customers: [], agents: init.agents, keep, concurrency: 20 }];
    for (let i = 0; i < tokens.length; i += PER_HOLDER) holderInits.push({ url: server.url, customers: tokens.slice(i, i + PER_HOLDER), agents: [], keep, concurrency: 100 });
    const connectStarted = Date.now();
    options.log(`  waiting: connecting ${tokens.length} customer sockets and ${init.agents.length} agent sockets (${holderInits.length} processes)`);
    const reports = await Promise.all(
      holderInits.map(async (h, i) => {
        const holder = new ChildRpc(forkBenchScript('line-holder.ts'), `line-holder(${i})`);
        holders.push(holder);
        return holder.call<ConnectReport>('connect', h, 600_000); // a loaded machine connects slowly
      }),
    );
    const failures = reports.reduce((s, r) => s + r.failures, 0);
    if (failures) throw new Error(`${failures} sockets failed to connect: ${JSON.stringify(reports.map((r) => r.errors)).slice(0, 300)}`);
    const connectS = (Date.now() - connectStarted) / 1000;
    const generator = await openGenerator(init, 'waiting', { rate: chatRate, durationS: 2 });
    try {
      // A second slot for every agent: the head of the line starts flowing to them.
      await mapLimit(init.agentIds, 8, (id) => server.api.http.call('PATCH', `/api/v1/agents/${id}`, { maxConcurrent: 2 }, server.admin.token, [200]));
      const resolveStarted = Date.now();
      await holders[0].call('startResolving', { rate: resolveRate }, 5000);
      await new Promise((r) => setTimeout(r, 3000)); // into the steady state
      const from = Date.now();
      const cpu0 = cpuTimeMs(server.pid);
      const chats = await generator.call<LoadResult>('run', { rate: chatRate, durationS: windowS, drainS: 0.5 }, windowS * 1000 + 60_000);
      const to = Date.now();
      const cpuMs = cpuTimeMs(server.pid) - cpu0;
      const line = await Promise.all(holders.map((h) => h.call<LineReport>('report', { from, to }, 30_000)));
      const { resolved } = await holders[0].call<{ resolved: number }>('stopResolving', {}, 5000);
      const resolvedPerS = resolved / ((Date.now() - resolveStarted) / 1000);
      const waitingAfter = await withClient(url, async (client) => (await client.query(`SELECT count(*)::int AS n FROM conversations WHERE status = 'queued'`)).rows[0].n as number);
      const customersLine = line.slice(1);
      const windowMs = to - from;
      const pushes = customersLine.reduce((s, r) => s + r.pushesInWindow, 0);
      return {
        waiting,
        agents: agentCount,
        resolveRate,
        chatRate,
        windowS: windowMs / 1000,
        serverCores: cpuMs / windowMs,
        resolvedPerS,
        resolveErrors: line[0].resolveErrors,
        resolveErrorSamples: line[0].resolveErrorSamples,
        resolveAckP99: line[0].resolveAckP99,
        chats: { sent: chats.sent, delivered: chats.delivered, lost: chats.lost, ackErrors: chats.ackErrors, ackP50: chats.ack.p50, ackP99: chats.ack.p99, e2eP99: chats.e2e.p99 },
        line: {
          waitingInWindow: customersLine.reduce((s, r) => s + r.waitingInWindow, 0),
          pushesInWindow: pushes,
          pushesPerS: pushes / (windowMs / 1000),
          maxGapMs: Math.max(...customersLine.map((r) => r.maxGapMs)),
          p99GapMs: Math.max(...customersLine.map((r) => r.p99GapMs)),
          over5s: customersLine.reduce((s, r) => s + r.over5s, 0),
        },
        waitingAfter,
        connectS,
      };
    } finally {
      await closeGenerator(generator);
    }
  } finally {
    await Promise.all(holders.map(async (h) => {
      await h.call('close', {}, 5000).catch(() => undefined);
      await stopChild(h.child);
    }));
    await server.stop();
  }
}

export function waitingSection(r: WaitingResult): string {
  const ok = (b: boolean) => (b ? 'yes' : '**NO**');
  return [
    `### Growth: ${r.waiting.toLocaleString('en')} customers waiting in one queue, ${r.agents} agents resolving ${r.resolveRate}/s (phase \`waiting\`)`,
    '',
    `${r.waiting.toLocaleString('en')} waiting conversations seeded with SQL, each customer with its socket (connected in ${fmt(r.connectS, 0)} s); ${r.agents} agents, each with one long chat (its customer sends, ${r.chatRate} msg/s in all) and a second slot that takes the head of the line; the agents resolve ${r.resolveRate} conversations per second. Measured over ${fmt(r.windowS, 0)} s.`,
    '',
    mdTable(
      ['server CPU (cores)', 'resolved/s', 'resolve errors', 'resolve ack p99 ms', 'chat ack p50 / p99 ms', 'chat e2e p99 ms', 'chat lost', 'customers waiting in the window', 'position pushes/s', 'longest silence per customer p99 / max s', 'customers silent > 5 s', 'still waiting after'],
      [
        [
          fmt(r.serverCores, 2),
          fmt(r.resolvedPerS, 1),
          String(r.resolveErrors),
          fmt(r.resolveAckP99, 1),
          `${fmt(r.chats.ackP50, 2)} / ${fmt(r.chats.ackP99, 1)}`,
          fmt(r.chats.e2eP99, 1),
          String(r.chats.lost + r.chats.ackErrors),
          String(r.line.waitingInWindow),
          fmt(r.line.pushesPerS, 0),
          `${fmt(r.line.p99GapMs / 1000, 2)} / ${fmt(r.line.maxGapMs / 1000, 2)}`,
          String(r.line.over5s),
          String(r.waitingAfter),
        ],
      ],
    ),
    ...(r.resolveErrors ? ['', `resolve errors: ${JSON.stringify(r.resolveErrorSamples).slice(0, 300)}`] : []),
    '',
    mdTable(
      ['goal', 'measured', 'met'],
      [
        ['chat ack p99 ≤ 50 ms', `${fmt(r.chats.ackP99, 1)} ms`, ok(r.chats.ackP99 <= 50)],
        ['every waiting customer hears its position at least every 5 s', `longest silence ${fmt(r.line.maxGapMs / 1000, 2)} s, ${r.line.over5s} customers over 5 s`, ok(r.line.over5s === 0 && r.line.waitingInWindow > 0)],
        ['server under one core', `${fmt(r.serverCores, 2)} cores`, ok(r.serverCores < 1)],
        [`${r.resolveRate} resolves/s sustained`, `${fmt(r.resolvedPerS, 1)}/s`, ok(r.resolvedPerS >= 0.9 * r.resolveRate)],
      ],
    ),
  ].join('\n');
}

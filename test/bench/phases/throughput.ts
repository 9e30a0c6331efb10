/**
 * Phases (a) bare relay, (b) insert relay, (c) our server: the same pairs workload against each,
 * a fixed-rate run and a ramp to the highest sustained rate, the targets taking turns, round
 * after round (single-run maxima swing by about 30% on a shared 2-core machine).
 */
import { createServer } from 'http';
import { AddressInfo } from 'net';
import { join } from 'path';
import { Client } from 'pg';
import { createCustomers, createLoggedInAgents, loginAll } from '../lib/api';
import { forkBenchScript, stopChild } from '../lib/children';
import { mapLimit } from '../lib/concurrency';
import { measureCpu, memoryKiB, waitForIdle } from '../lib/proc';
import { monotonicUs, type TimeWindow } from '../lib/profile';
import type { ConnectReport, CustomerSpec, GeneratorInit, LoadResult, RunParams } from '../lib/protocol';
import { ChildRpc } from '../lib/rpc';
import { OurServer, ServerHandle, startOurServer, startReference } from '../lib/servers';

export type TargetName = 'bare' | 'insert' | 'ours' | 'hooked';

export const TARGET_LABELS: Record<TargetName, string> = {
  bare: 'reference: bare Socket.IO relay',
  insert: 'reference: relay + 1 INSERT/msg',
  ours: 'our server',
  hooked: 'our server + 1 message.created webhook',
};

export interface ThroughputOptions {
  targets: TargetName[];
  pairs: number;
  rate: number;
  durationS: number;
  drainS: number;
  warmupS: number;
  rounds: number;
  ramp: boolean;
  rampStepS: number;
  rampMaxSteps: number;
  rampStartRate: number;
  /** `embedded` or a PostgreSQL URL, for our server. */
  database: string;
  /** Profile our server (node --cpu-prof) into this directory. */
  profileDir?: string;
  log: (line: string) => void;
}

export interface Measurement extends LoadResult {
  serverCpuMs: number;
  /** CPU of all `postgres` processes on the machine during the run (the reference's database work). */
  dbCpuMs: number;
  serverRssKiB: number;
}

export interface RampStep {
  rate: number;
  ok: boolean;
  reason?: string;
  deliveredRate: number;
  p99: number;
  serverCpuMs: number;
  generatorCpuMs: number;
}

export interface RampResult {
  maxSustained: number;
  steps: RampStep[];
}

export interface TargetRound {
  fixed?: Measurement;
  ramp?: RampResult;
  error?: string;
}

export interface TargetResult {
  name: TargetName;
  description: string;
  setupMs?: number;
  rounds: TargetRound[];
  /** When the measured runs happened (monotonic µs), to cut a CPU profile down to them. */
  measuredWindows: TimeWindow[];
  error?: string;
}

/** A ramp step stops early once this many seconds' worth of messages wait for their ack. */
const RAMP_ABORT_BACKLOG_S = 0.5;

/** Why a run does not count as sustained at its rate (p99 under 100 ms and nothing lost), or undefined. */
export function unsustainedReason(r: LoadResult): string | undefined {
  if (r.aborted) return `stopped after ${r.sent} messages: backlog over ${RAMP_ABORT_BACKLOG_S * 1000} ms`;
  if (r.ackErrors > 0) return `${r.ackErrors} error acks`;
  if (r.lost > 0) return `${r.lost} lost`;
  if (r.duplicated > 0) return `${r.duplicated} duplicated`;
  if (r.misrouted > 0) return `${r.misrouted} misrouted`;
  if (r.sendRate < 0.95 * r.rate) return `generator sent only ${Math.round(r.sendRate)}/s`;
  if (!(r.e2e.p99 < 100)) return `p99 ${r.e2e.p99.toFixed(1)} ms`;
  return undefined;
}

interface Target {
  name: TargetName;
  server: ServerHandle;
  generator: ChildRpc;
  description: string;
  measuredWindows: TimeWindow[];
}

/** Our server with a webhook receiver: `settle` waits for its outbox to be delivered. */
type HookedServer = OurServer & { settle(log: (line: string) => void): Promise<void> };

/** Reference servers know pair i by its token alone: customer `c:i`, agent `a:i`, conversation i. */
function referencePairs(url: string, pairs: number): GeneratorInit {
  const ids = Array.from({ length: pairs }, (_, i) => i + 1);
  return {
    url,
    agents: ids.map((i) => `a:${i}`),
    customers: ids.map((i, index) => ({ token: `c:${i}`, conversationId: i, agentIndex: index })),
  };
}

/** Through the real API: N agents logged in, N customers each with an active conversation. */
export async function ourPairs(server: OurServer, pairs: number, capacity = 50, tag = 'tp'): Promise<GeneratorInit & { agentIds: number[] }> {
  const { api, admin } = server;
  const accounts = await createLoggedInAgents(api, admin.token, pairs, capacity, tag);
  const agentSessions = await loginAll(api, accounts);
  const customerSessions = await createCustomers(api, pairs, tag);
  const conversations = await mapLimit(customerSessions, 8, (customer) => api.startConversation(customer.token));
  const agentIndex = new Map(accounts.map((account, index) => [account.id, index]));
  const customers: CustomerSpec[] = conversations.map((conversation, i) => {
    const index = conversation.agentId === null ? undefined : agentIndex.get(conversation.agentId);
    if (conversation.status !== 'active' || index === undefined) {
      throw new Error(`conversation ${conversation.id} was not allocated to a bench agent: ${JSON.stringify(conversation)}`);
    }
    return { token: customerSessions[i].token, conversationId: conversation.id, agentIndex: index };
  });
  return { url: server.url, agents: agentSessions.map((s) => s.token), customers, agentIds: accounts.map((a) => a.id) };
}

async function openTarget(name: TargetName, options: ThroughputOptions): Promise<Target & { setupMs: number }> {
  const started = Date.now();
  const isOurs = name === 'ours' || name === 'hooked';
  let server = isOurs ? await startOurServer({ database: options.database, label: name === 'ours' ? 'throughput' : 'throughput-hooked', profileDir: options.profileDir && join(options.profileDir, name) }) : await startReference(name);
  try {
    // The outbox's cost: one event-webhook subscription for message.created, to a local receiver
    // that answers 204, so every message is also written to the outbox and delivered.
    if (name === 'hooked') server = await withWebhookSink(server as OurServer, options.log);
    const init = isOurs ? await ourPairs(server as OurServer, options.pairs) : referencePairs(server.url, options.pairs);
    const generator = new ChildRpc(forkBenchScript('load-generator.ts'), `load-generator(${name})`);
    const connect = await generator.call<ConnectReport>('connect', init, 120_000);
    if (connect.failures > 0) {
      await stopChild(generator.child);
      throw new Error(`${connect.failures} of ${connect.sockets} sockets failed to connect: ${JSON.stringify(connect.errors)}`);
    }
    // Warm up (JIT, database pool, prepared statements) before anything is measured.
    await generator.call('run', { rate: options.rate, durationS: options.warmupS, drainS: 3 }, 60_000);
    const description = isOurs ? `${TARGET_LABELS[name]} (${(server as OurServer).storage})` : TARGET_LABELS[name];
    return { name, server, generator, description, measuredWindows: [], setupMs: Date.now() - started };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Starts a receiver that answers every event-webhook call 204 and subscribes it to message.created; it stops with the server. */
async function withWebhookSink(server: OurServer, log: (line: string) => void): Promise<HookedServer> {
  let received = 0;
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  sink.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
  await server.api.http.call('POST', '/api/v1/webhooks', { url, events: ['message.created'] }, server.admin.token, [201]);
  const db = server.databaseUrl ? new Client({ connectionString: server.databaseUrl }) : null;
  await db?.connect();
  const stop = server.stop;
  return {
    ...server,
    // Each measured run starts on an empty outbox: a delivery backlog left by an earlier run
    // (the dispatcher falls behind in a failed ramp step) would otherwise load the next, slower
    // step with the earlier step's sending. The wait is logged, so the backlog stays visible;
    // the sending a run causes itself is all measured with it. Embedded storage: no wait.
    settle: async (log) => {
      if (!db) return;
      const started = Date.now();
      const pending = async () => ((await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`)).rows[0].n as number);
      const before = await pending();
      let left = before;
      while (left > 0 && Date.now() - started < OUTBOX_SETTLE_MAX_MS) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        left = await pending();
      }
      if (before > 0) log(`    hooked: ${before} deliveries pending before the run, ${left} after waiting ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    stop: async () => {
      log(`  hooked: the webhook receiver got ${received} calls`);
      await db?.end().catch(() => undefined);
      await stop();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    },
  };
}

/** The longest a hooked run waits for the outbox of the runs before it to be delivered. */
const OUTBOX_SETTLE_MAX_MS = 60_000;

async function closeTarget(target: Target): Promise<void> {
  await target.generator.call('close', {}, 5000).catch(() => undefined);
  await stopChild(target.generator.child);
  await target.server.stop();
}

async function measure(target: Target, params: RunParams, log: (line: string) => void): Promise<Measurement> {
  if ('settle' in target.server) await (target.server as HookedServer).settle(log);
  const timeoutMs = (params.durationS + params.drainS) * 1000 + 30_000;
  const from = monotonicUs();
  const { result, cpuMs, dbCpuMs } = await measureCpu(target.server.pid, () => target.generator.call<LoadResult>('run', params, timeoutMs));
  target.measuredWindows.push([from, monotonicUs()]);
  return { ...result, serverCpuMs: cpuMs, dbCpuMs, serverRssKiB: memoryKiB(target.server.pid) };
}

/**
 * Highest rate sustained: double from `start` until a step fails (or halve until one passes),
 * then bisect (geometrically) until the bracket is within 20%.
 */
async function ramp(target: Target, start: number, options: ThroughputOptions): Promise<RampResult> {
  const steps: RampStep[] = [];
  let ok = 0;
  let failed = Infinity;
  let rate = Math.max(50, Math.round(start));
  while (steps.length < options.rampMaxSteps) {
    const m = await measure(target, { rate, durationS: options.rampStepS, drainS: Math.min(options.drainS, 3), abortBacklogS: RAMP_ABORT_BACKLOG_S }, options.log);
    const reason = unsustainedReason(m);
    steps.push({ rate, ok: !reason, reason, deliveredRate: m.deliveredRate, p99: m.e2e.p99, serverCpuMs: m.serverCpuMs, generatorCpuMs: m.generatorCpuMs });
    options.log(`    ramp ${target.name} ${rate}/s: ${reason ? `no (${reason})` : `ok (p99 ${m.e2e.p99.toFixed(1)} ms)`}`);
    if (reason) failed = Math.min(failed, rate);
    else ok = Math.max(ok, rate);
    if (failed === Infinity) rate = ok * 2;
    else if (ok === 0) rate = Math.round(failed / 2);
    else if (failed / ok > 1.2) rate = Math.round(Math.sqrt(ok * failed));
    else break;
    if (rate < 50) break;
    await waitForIdle(target.server.pid); // a failed step may leave a backlog behind
  }
  return { maxSustained: ok, steps };
}

export async function runThroughput(options: ThroughputOptions): Promise<TargetResult[]> {
  const results = new Map<TargetName, TargetResult>(
    options.targets.map((name) => [name, { name, description: TARGET_LABELS[name], rounds: [], measuredWindows: [] }]),
  );
  const targets: Target[] = [];
  try {
    for (const name of options.targets) {
      options.log(`  starting ${TARGET_LABELS[name]} and connecting ${options.pairs} pairs`);
      try {
        const target = await openTarget(name, options);
        targets.push(target);
        Object.assign(results.get(name) as TargetResult, { description: target.description, setupMs: target.setupMs, measuredWindows: target.measuredWindows });
      } catch (error) {
        (results.get(name) as TargetResult).error = (error as Error).message;
        options.log(`  ${name}: ${(error as Error).message}`);
      }
    }
    const lastMax = new Map<TargetName, number>();
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        const round_: TargetRound = {};
        (results.get(target.name) as TargetResult).rounds.push(round_);
        try {
          await waitForIdle(target.server.pid);
          round_.fixed = await measure(target, { rate: options.rate, durationS: options.durationS, drainS: options.drainS }, options.log);
          const f = round_.fixed;
          options.log(
            `  round ${round} ${target.name}: ${options.rate}/s for ${options.durationS}s → delivered ${f.delivered}/${f.sent}, ` +
              `p50 ${f.e2e.p50.toFixed(2)} p99 ${f.e2e.p99.toFixed(2)} ms, server CPU ${f.serverCpuMs} ms, generator CPU ${f.generatorCpuMs.toFixed(0)} ms`,
          );
          if (options.ramp) {
            round_.ramp = await ramp(target, lastMax.get(target.name) || options.rampStartRate, options);
            if (round_.ramp.maxSustained > 0) lastMax.set(target.name, round_.ramp.maxSustained);
            options.log(`  round ${round} ${target.name}: max sustained ${round_.ramp.maxSustained}/s`);
          }
        } catch (error) {
          round_.error = (error as Error).message;
          options.log(`  round ${round} ${target.name}: ${round_.error}`);
        }
      }
    }
  } finally {
    await Promise.all(targets.map((t) => closeTarget(t).catch(() => undefined)));
  }
  return options.targets.map((name) => results.get(name) as TargetResult);
}

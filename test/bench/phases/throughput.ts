/**
 * Phases (a) bare relay, (b) insert relay, (c) our server: the same pairs workload against each,
 * a fixed-rate run and a ramp to the highest sustained rate, the targets taking turns, round
 * after round (single-run maxima swing by about 30% on a shared 2-core machine).
 */
import { join } from 'path';
import { Client } from 'pg';
import { createCustomers, createLoggedInAgents, loginAll } from '../lib/api';
import { forkBenchScript, readJsonLine, spawnBenchScript, stopChild } from '../lib/children';
import { mapLimit, sleep } from '../lib/concurrency';
import { cpuTimeMs, cpuTimesOfCommand, loadAverage, measureCpu, memoryKiB, waitForIdle } from '../lib/proc';
import { monotonicUs, type TimeWindow } from '../lib/profile';
import type { ConnectReport, CustomerSpec, GeneratorInit, LoadResult, RunParams } from '../lib/protocol';
import { ChildRpc } from '../lib/rpc';
import { OurServer, ServerHandle, startOurServer, startReference } from '../lib/servers';
import type { ReceiverStats } from '../webhook-receiver';

export type TargetName = 'bare' | 'insert' | 'ours' | 'hooked' | 'hookedsplit';
/** Our server in each of its shapes (the others are the reference relays). */
export const OUR_TARGETS: readonly TargetName[] = ['ours', 'hooked', 'hookedsplit'];

export const TARGET_LABELS: Record<TargetName, string> = {
  bare: 'reference: bare Socket.IO relay',
  insert: 'reference: relay + 1 INSERT/msg',
  ours: 'our server',
  hooked: 'our server + 1 message.created webhook',
  hookedsplit: 'our server (WEBHOOK_DISPATCH=false) + a dispatch-only instance, 1 message.created webhook',
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
  /** Hooked targets: the outbox at the end of the run and its drain. */
  outbox?: OutboxDrain;
}

export interface RampStep {
  rate: number;
  ok: boolean;
  reason?: string;
  deliveredRate: number;
  p99: number;
  serverCpuMs: number;
  generatorCpuMs: number;
  outbox?: OutboxDrain;
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
  /** Hooked targets: the receiver's calls against the database's deliveries, after the last round. */
  webhook?: WebhookCheck;
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
  const isOurs = OUR_TARGETS.includes(name);
  let server = isOurs
    ? await startOurServer({
        database: options.database,
        label: name === 'ours' ? 'throughput' : `throughput-${name}`,
        profileDir: options.profileDir && join(options.profileDir, name),
        // The documented deployment (docs/integrations.md › Dispatch-only instances): the
        // message-serving instance writes the outbox rows and never sends.
        env: name === 'hookedsplit' ? { WEBHOOK_DISPATCH: 'false' } : undefined,
      })
    : await startReference(name as 'bare' | 'insert');
  try {
    // The outbox's cost: one event-webhook subscription for message.created, to a receiver that
    // answers 204, so every message is also written to the outbox and delivered.
    if (name === 'hooked' || name === 'hookedsplit') server = await withWebhookReceiver(server as OurServer, name, options);
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

/** After a hooked run: what the outbox still held, and how long the dispatcher took to send it. */
export interface OutboxDrain {
  /** Deliveries pending (due, parked or in flight) when the load generator's run ended. */
  pendingAtEnd: number;
  /** From the end of the run until nothing was pending (or OUTBOX_SETTLE_MAX_MS passed). */
  drainMs: number;
  /** Still pending when the wait gave up (0 when drained). */
  left: number;
  /** CPU of every `postgres` process during the drain (the dispatcher's statements after the run). */
  dbCpuMs: number;
  /** hookedsplit: the dispatch-only instance's CPU from the start of the run until drained. */
  dispatcherCpuMs?: number;
  /** hookedsplit: CPU of the PostgreSQL backends serving the dispatch-only instance (its claims and records), from the start of the run until drained. */
  dispatcherDbCpuMs?: number;
}

/** CPU counters at the start of a hooked run, for what its drain reports. */
interface RunStart {
  dispatcherCpuMs?: number;
  postgres: Map<number, number>;
}

/** The receiver's calls held against the database's deliveries, at the end of a hooked target. */
export interface WebhookCheck {
  receiver: ReceiverStats;
  deliveries: number;
  delivered: number;
  pending: number;
  failed: number;
  /** Attempts recorded over all deliveries. */
  attempts: number;
  /** Delivered events whose X-Webhook-Id the receiver never got. */
  missing: number;
  /** X-Webhook-Id values the receiver got that are no event of the database. */
  unknown: number;
  /** Every event delivered and received, and every call a counted attempt (calls = attempts). */
  ok: boolean;
}

/** Our server with a webhook receiver (and, for hookedsplit, a dispatch-only instance beside it). */
type HookedServer = OurServer & {
  /** Waits until no delivery is pending (at most OUTBOX_SETTLE_MAX_MS); `start` (the run's counters) adds the dispatch-only instance's share. */
  drain(start?: RunStart): Promise<OutboxDrain>;
  dispatcherPid?: number;
  check(): Promise<WebhookCheck>;
};

const isHooked = (server: ServerHandle): server is HookedServer => 'drain' in server;

/**
 * Starts the webhook receiver (its own process, under nice 19: the integrator's machine, which
 * must not take the cores the message path is measured on), subscribes it to message.created,
 * and for `hookedsplit` starts the dispatch-only instance on the same database (nice 19 too: it
 * sends every delivery, with whatever the message instance, PostgreSQL and the generator leave).
 * The receiver and the dispatcher stop with the server.
 */
async function withWebhookReceiver(server: OurServer, name: 'hooked' | 'hookedsplit', options: ThroughputOptions): Promise<HookedServer> {
  const receiverChild = spawnBenchScript('webhook-receiver.ts', undefined, [], RECEIVER_NICENESS);
  let dispatcher: OurServer | undefined;
  const db = server.databaseUrl ? new Client({ connectionString: server.databaseUrl }) : null;
  try {
    const { port } = await readJsonLine<{ port: number }>(receiverChild, 20_000);
    const receiverUrl = `http://127.0.0.1:${port}`;
    const receiverGet = async (path: string) => {
      const res = await fetch(`${receiverUrl}${path}`);
      if (!res.ok) throw new Error(`webhook receiver ${path}: HTTP ${res.status}`);
      return res.text();
    };
    await server.api.http.call('POST', '/api/v1/webhooks', { url: `${receiverUrl}/hook`, events: ['message.created'] }, server.admin.token, [201]);
    await db?.connect();
    if (name === 'hookedsplit') {
      dispatcher = await startOurServer({ database: options.database, label: 'throughput-dispatcher', joinOf: server, niceness: DISPATCHER_NICENESS, env: { PGAPPNAME: DISPATCHER_APP_NAME } });
    }
    const pending = async () => (db ? ((await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`)).rows[0].n as number) : 0);
    const stop = server.stop;
    return {
      ...server,
      dispatcherPid: dispatcher?.pid,
      // Each measured run ends with the outbox drained (embedded storage: not waited for), so the
      // next run, or a slower ramp step, never starts on the earlier one's sending; the drain is
      // reported beside the run, so a dispatcher falling behind stays visible.
      drain: async (start) => {
        const started = Date.now();
        const db0 = cpuTimesOfCommand('postgres');
        const pendingAtEnd = await pending();
        let left = pendingAtEnd;
        while (left > 0 && Date.now() - started < OUTBOX_SETTLE_MAX_MS) {
          await sleep(OUTBOX_POLL_MS);
          left = await pending();
        }
        const drainMs = left > 0 || pendingAtEnd > 0 ? Date.now() - started : 0;
        const dbCpuMs = [...cpuTimesOfCommand('postgres')].reduce((sum, [pid, ms]) => sum + ms - (db0.get(pid) ?? 0), 0);
        if (!dispatcher || !start || !db) return { pendingAtEnd, drainMs, left, dbCpuMs };
        const dispatcherCpuMs = cpuTimeMs(dispatcher.pid) - (start.dispatcherCpuMs ?? 0);
        // The dispatch-only instance's pool connections, told apart by their application_name.
        const backends = (await db.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [DISPATCHER_APP_NAME])).rows.map((r) => r.pid as number);
        const now = cpuTimesOfCommand('postgres');
        const dispatcherDbCpuMs = backends.reduce((sum, pid) => sum + (now.get(pid) ?? 0) - (start.postgres.get(pid) ?? 0), 0);
        return { pendingAtEnd, drainMs, left, dbCpuMs, dispatcherCpuMs, dispatcherDbCpuMs };
      },
      check: async () => {
        const receiver = JSON.parse(await receiverGet('/stats')) as ReceiverStats;
        const received = new Set((await receiverGet('/ids')).split('\n').filter(Boolean));
        const rows = db
          ? ((await db.query(`SELECT e.uid::text AS uid, d.status, d.attempts FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id`)).rows as { uid: string; status: string; attempts: number }[])
          : [];
        const uids = new Set(rows.map((r) => r.uid));
        const count = (status: string) => rows.filter((r) => r.status === status).length;
        const attempts = rows.reduce((sum, r) => sum + r.attempts, 0);
        const missing = rows.filter((r) => r.status === 'delivered' && !received.has(r.uid)).length;
        const unknown = [...received].filter((uid) => !uids.has(uid)).length;
        const [delivered, pendingRows, failed] = [count('delivered'), count('pending'), count('failed')];
        const ok = !!db && missing === 0 && unknown === 0 && pendingRows === 0 && failed === 0 && receiver.withoutId === 0 && receiver.calls === attempts;
        return { receiver, deliveries: rows.length, delivered, pending: pendingRows, failed, attempts, missing, unknown, ok };
      },
      stop: async () => {
        await db?.end().catch(() => undefined);
        await dispatcher?.stop();
        await stop();
        await stopChild(receiverChild);
      },
    };
  } catch (error) {
    await db?.end().catch(() => undefined);
    await dispatcher?.stop().catch(() => undefined);
    await stopChild(receiverChild);
    throw error;
  }
}

/** The longest a hooked run waits for its outbox to be delivered. */
const OUTBOX_SETTLE_MAX_MS = 60_000;
const OUTBOX_POLL_MS = 100;
/** `nice -n` of the webhook receiver and of hookedsplit's dispatch-only instance. */
const RECEIVER_NICENESS = 19;
const DISPATCHER_NICENESS = 19;
/** The dispatch-only instance's PostgreSQL connections carry this application_name (PGAPPNAME, read by pg). */
const DISPATCHER_APP_NAME = 'cc-bench-dispatcher';

/** One line about a hooked target's receiver against its database. */
export function describeWebhookCheck(c: WebhookCheck): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return (
    `receiver got ${n(c.receiver.calls)} calls for ${n(c.receiver.distinct)} distinct X-Webhook-Id (${n(c.receiver.repeats)} repeats); ` +
    `database: ${n(c.deliveries)} deliveries (${n(c.delivered)} delivered, ${n(c.pending)} pending, ${n(c.failed)} failed), ${n(c.attempts)} attempts; ` +
    `${n(c.missing)} delivered but not received, ${n(c.unknown)} received but unknown` +
    (c.ok ? ': every event arrived, calls = attempts' : ': **CHECK FAILED**')
  );
}

async function closeTarget(target: Target): Promise<void> {
  await target.generator.call('close', {}, 5000).catch(() => undefined);
  await stopChild(target.generator.child);
  await target.server.stop();
}

async function measure(target: Target, params: RunParams, log: (line: string) => void): Promise<Measurement> {
  const { server } = target;
  if (isHooked(server)) {
    // Normally empty (each run drains after itself); not when a drain gave up after its 60 s.
    const before = await server.drain();
    if (before.pendingAtEnd > 0) log(`    ${target.name}: ${before.pendingAtEnd} deliveries pending before the run, ${before.left} after waiting ${(before.drainMs / 1000).toFixed(1)} s`);
  }
  const start: RunStart | undefined = isHooked(server) && server.dispatcherPid ? { dispatcherCpuMs: cpuTimeMs(server.dispatcherPid), postgres: cpuTimesOfCommand('postgres') } : undefined;
  const timeoutMs = (params.durationS + params.drainS) * 1000 + 30_000;
  const from = monotonicUs();
  const { result, cpuMs, dbCpuMs } = await measureCpu(server.pid, () => target.generator.call<LoadResult>('run', params, timeoutMs));
  target.measuredWindows.push([from, monotonicUs()]);
  const measurement: Measurement = { ...result, serverCpuMs: cpuMs, dbCpuMs, serverRssKiB: memoryKiB(server.pid) };
  if (isHooked(server)) {
    const outbox = await server.drain(start);
    measurement.outbox = outbox;
    log(
      `    ${target.name}: ${outbox.pendingAtEnd} deliveries pending at the end of the run, ` +
        (outbox.left > 0 ? `${outbox.left} still pending after ${(outbox.drainMs / 1000).toFixed(1)} s` : `drained in ${(outbox.drainMs / 1000).toFixed(1)} s`) +
        (outbox.dispatcherCpuMs !== undefined ? `; dispatch-only instance CPU ${outbox.dispatcherCpuMs} ms, its PostgreSQL backends ${outbox.dispatcherDbCpuMs} ms` : ''),
    );
  }
  return measurement;
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
    steps.push({ rate, ok: !reason, reason, deliveredRate: m.deliveredRate, p99: m.e2e.p99, serverCpuMs: m.serverCpuMs, generatorCpuMs: m.generatorCpuMs, outbox: m.outbox });
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
          options.log(`  round ${round} ${target.name}: 1-minute load average ${loadAverage().toFixed(2)}`);
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
    for (const target of targets) {
      if (!isHooked(target.server)) continue;
      const result = results.get(target.name) as TargetResult;
      try {
        await target.server.drain();
        result.webhook = await target.server.check();
        options.log(`  ${target.name}: ${describeWebhookCheck(result.webhook)}`);
      } catch (error) {
        result.error = `webhook check: ${(error as Error).message}`;
        options.log(`  ${target.name}: ${result.error}`);
      }
    }
  } finally {
    await Promise.all(targets.map((t) => closeTarget(t).catch(() => undefined)));
  }
  return options.targets.map((name) => results.get(name) as TargetResult);
}

/**
 * Phase (d), allocation burst: C customers start conversations within one second against A agents
 * of capacity K (by default 1,000 against 100 × 5: 500 become active, 500 wait).
 * Measures the time until every conversation is active or queued (each POST /conversations
 * answers only once it is one or the other), allocations per second, and capacity violations
 * read back from GET /agents/statuses.
 */
import { performance } from 'perf_hooks';
import { ContactCenterApi, Conversation, createCustomers, createLoggedInAgents } from '../lib/api';
import { sleep } from '../lib/concurrency';
import { cpuTimeMs, memoryKiB } from '../lib/proc';
import { startOurServer } from '../lib/servers';
import { Samples, type Percentiles } from '../lib/stats';

export interface BurstOptions {
  customers: number;
  agents: number;
  capacity: number;
  spreadMs: number;
  database: string;
  /** Two instances (sharing the database, Redis adapter) take turns answering the requests. */
  instances?: 1 | 2;
  redisUrl?: string;
  log: (line: string) => void;
}

export interface BurstResult {
  customers: number;
  agents: number;
  capacity: number;
  spreadMs: number;
  /** First request sent to last response received. */
  totalMs: number;
  /** Last request sent to last response received. */
  afterLastFiredMs?: number;
  instances?: number;
  active: number;
  queued: number;
  errors: number;
  errorSamples: Record<string, number>;
  allocationsPerS: number;
  responseLatency: Percentiles;
  /** Read back after the burst. */
  activeByStatuses: number;
  queuedByList: number;
  violations: number;
  maxActivePerAgent: number;
  serverCpuMs: number;
  serverRssKiB: number;
  setupMs: number;
}

interface Outcome {
  status?: Conversation['status'];
  error?: string;
  latencyMs: number;
  doneAt: number;
}

/** Fires `count` requests evenly spread over `spreadMs`, each one as soon as it is due. */
async function fireSpread<T>(count: number, spreadMs: number, fire: (i: number) => Promise<T>): Promise<T[]> {
  const started = performance.now();
  const pending: Promise<T>[] = [];
  while (pending.length < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / spreadMs) * count) + 1);
    while (pending.length < due) pending.push(fire(pending.length));
    if (pending.length < count) await sleep(1);
  }
  return Promise.all(pending);
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const setupStarted = Date.now();
  const server = await startOurServer({ database: options.database, label: 'burst', redisUrl: options.redisUrl });
  const second = options.instances === 2 ? await startOurServer({ database: options.database, label: 'burst-2', redisUrl: options.redisUrl, joinOf: server }).catch(async (error) => {
    await server.stop();
    throw error;
  }) : undefined;
  const servers = second ? [server, second] : [server];
  const burstApis = servers.map((s) => new ContactCenterApi(s.url, 512));
  try {
    const { api, admin } = server;
    options.log(`  creating ${options.agents} agents (capacity ${options.capacity}) and ${options.customers} customer sessions`);
    await createLoggedInAgents(api, admin.token, options.agents, options.capacity, 'burst');
    const customers = await createCustomers(api, options.customers, 'burst', 32);
    const setupMs = Date.now() - setupStarted;
    await sleep(500);

    const cpuOf = () => servers.reduce((sum, s) => sum + cpuTimeMs(s.pid), 0);
    const cpuBefore = cpuOf();
    const started = performance.now();
    let lastFiredAt = started;
    const outcomes = await fireSpread<Outcome>(customers.length, options.spreadMs, async (i) => {
      const sentAt = performance.now();
      lastFiredAt = Math.max(lastFiredAt, sentAt);
      try {
        const res = await burstApis[i % burstApis.length].http.send<Conversation & { message?: string }>('POST', '/api/v1/conversations', { channel: 'web' }, customers[i].token, 60_000);
        const now = performance.now();
        if (res.status !== 201) return { error: `${res.status} ${JSON.stringify(res.body?.message ?? res.body)}`, latencyMs: now - sentAt, doneAt: now };
        return { status: res.body.status, latencyMs: now - sentAt, doneAt: now };
      } catch (error) {
        const now = performance.now();
        return { error: (error as Error).message, latencyMs: now - sentAt, doneAt: now };
      }
    });
    const totalMs = Math.max(...outcomes.map((o) => o.doneAt)) - started;
    const serverCpuMs = cpuOf() - cpuBefore;
    const afterLastFiredMs = Math.max(...outcomes.map((o) => o.doneAt)) - lastFiredAt;

    const latency = new Samples(outcomes.length);
    const errorSamples: Record<string, number> = {};
    for (const o of outcomes) {
      latency.push(o.latencyMs);
      if (o.error) errorSamples[o.error] = (errorSamples[o.error] ?? 0) + 1;
    }
    const statuses = await api.agentStatuses(admin.token);
    const active = outcomes.filter((o) => o.status === 'active').length;
    const queued = outcomes.filter((o) => o.status === 'queued').length;
    return {
      customers: options.customers,
      agents: options.agents,
      capacity: options.capacity,
      spreadMs: options.spreadMs,
      totalMs,
      active,
      queued,
      errors: outcomes.filter((o) => o.error).length,
      errorSamples,
      allocationsPerS: (active + queued) / (totalMs / 1000),
      responseLatency: latency.percentiles(),
      activeByStatuses: statuses.reduce((sum, s) => sum + s.activeConversations, 0),
      queuedByList: await api.countConversations(admin.token, 'queued'),
      violations: statuses.filter((s) => s.activeConversations > s.maxConcurrent).length,
      maxActivePerAgent: Math.max(0, ...statuses.map((s) => s.activeConversations)),
      serverCpuMs,
      serverRssKiB: memoryKiB(server.pid),
      setupMs,
      afterLastFiredMs,
      instances: servers.length,
    };
  } finally {
    for (const a of burstApis) a.close();
    if (second) await second.stop();
    await server.stop();
  }
}

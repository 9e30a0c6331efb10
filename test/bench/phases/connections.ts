/**
 * Phase (e), connections: S idle authenticated sockets (half agents on /agent, half customers on
 * /customer) into one server process: ours, and the bare relay as the floor. Agents keep several
 * tabs each (several sockets per agent token), customers one socket each. The sockets are held by
 * several socket-holder processes (the open-file limit is 20,000 per process).
 * Measures RSS per socket (RSS after a forced full GC, before and after), connect rate, failures.
 */
import { performance } from 'perf_hooks';
import { createCustomers, createLoggedInAgents, loginAll } from '../lib/api';
import { collectGarbage, forkBenchScript, stopChild } from '../lib/children';
import { sleep } from '../lib/concurrency';
import { cpuTimeMs, memoryKiB } from '../lib/proc';
import type { ConnectReport, HolderInit, HolderSocket } from '../lib/protocol';
import { ChildRpc } from '../lib/rpc';
import { OurServer, startOurServer, startReference } from '../lib/servers';

export interface ConnectionsOptions {
  /** `ours`, or `bare` for the reference relay's cost of the same sockets. */
  target: 'ours' | 'bare';
  sockets: number;
  /** Sockets per agent token (browser tabs). */
  tabsPerAgent: number;
  socketsPerHolder: number;
  concurrencyPerHolder: number;
  /** Time allowed for connecting them all. */
  timeLimitS: number;
  database: string;
  log: (line: string) => void;
}

export interface ConnectionsResult {
  target: 'ours' | 'bare';
  sockets: number;
  agentSockets: number;
  customerSockets: number;
  agents: number;
  holders: number;
  connected: number;
  failures: number;
  errors: Record<string, number>;
  connectMs: number;
  connectRate: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perSocketKiB: number;
  stillOpen: number;
  serverCpuMs: number;
  setupMs: number;
}

/** Alternates agents and customers so every holder gets a mix. */
function interleave(a: HolderSocket[], b: HolderSocket[]): HolderSocket[] {
  const out: HolderSocket[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]);
    if (i < b.length) out.push(b[i]);
  }
  return out;
}

interface Tokens {
  agents: string[];
  customers: string[];
}

/** Our server: real agents (logged in over HTTP) and customer sessions. */
async function ourTokens(server: OurServer, agentCount: number, customerCount: number, log: (line: string) => void): Promise<Tokens> {
  const { api, admin } = server;
  log(`  creating ${agentCount} agents and ${customerCount} customer sessions`);
  const accounts = await createLoggedInAgents(api, admin.token, agentCount, 2, 'conn');
  const agents = (await loginAll(api, accounts)).map((s) => s.token);
  const customers = (await createCustomers(api, customerCount, 'conn', 32)).map((s) => s.token);
  return { agents, customers };
}

/** The bare relay takes ids as tokens. */
function referenceTokens(agentCount: number, customerCount: number): Tokens {
  return {
    agents: Array.from({ length: agentCount }, (_, i) => `a:${i + 1}`),
    customers: Array.from({ length: customerCount }, (_, i) => `c:${i + 1}`),
  };
}

export async function runConnections(options: ConnectionsOptions): Promise<ConnectionsResult> {
  const setupStarted = Date.now();
  const server =
    options.target === 'ours' ? await startOurServer({ database: options.database, label: 'connections', gcOnSignal: true }) : await startReference('bare', true);
  const holders: ChildRpc[] = [];
  try {
    const agentSockets = Math.floor(options.sockets / 2);
    const customerSockets = options.sockets - agentSockets;
    const agentCount = Math.ceil(agentSockets / options.tabsPerAgent);
    const tokens = options.target === 'ours' ? await ourTokens(server as OurServer, agentCount, customerSockets, options.log) : referenceTokens(agentCount, customerSockets);
    const sockets = interleave(
      Array.from({ length: agentSockets }, (_, i) => ({ namespace: '/agent' as const, token: tokens.agents[i % agentCount] })),
      tokens.customers.map((token) => ({ namespace: '/customer' as const, token })),
    );
    const holderCount = Math.ceil(sockets.length / options.socketsPerHolder);
    for (let i = 0; i < holderCount; i++) holders.push(new ChildRpc(forkBenchScript('socket-holder.ts'), `socket-holder ${i + 1}`));
    const setupMs = Date.now() - setupStarted;
    await sleep(500);
    await collectGarbage(server.pid); // RSS without the setup's garbage

    const rssBeforeKiB = memoryKiB(server.pid);
    const cpuBefore = cpuTimeMs(server.pid);
    options.log(`  connecting ${sockets.length} sockets from ${holderCount} processes`);
    const started = performance.now();
    const reports = await Promise.all(
      holders.map((holder, i) => {
        const init: HolderInit = {
          url: server.url,
          sockets: sockets.filter((_, index) => index % holderCount === i),
          concurrency: options.concurrencyPerHolder,
          timeLimitMs: options.timeLimitS * 1000,
        };
        return holder.call<ConnectReport>('connect', init, options.timeLimitS * 1000 + 60_000);
      }),
    );
    const connectMs = performance.now() - started;
    const serverCpuMs = cpuTimeMs(server.pid) - cpuBefore;
    await sleep(1000);
    await collectGarbage(server.pid);
    const rssAfterKiB = memoryKiB(server.pid);
    const stillOpen = (await Promise.all(holders.map((h) => h.call<number>('count', {}, 10_000)))).reduce((a, b) => a + b, 0);

    const connected = reports.reduce((sum, r) => sum + r.connected, 0);
    const errors: Record<string, number> = {};
    for (const r of reports) for (const [message, n] of Object.entries(r.errors)) errors[message] = (errors[message] ?? 0) + n;
    return {
      target: options.target,
      sockets: sockets.length,
      agentSockets,
      customerSockets,
      agents: agentCount,
      holders: holderCount,
      connected,
      failures: reports.reduce((sum, r) => sum + r.failures, 0),
      errors,
      connectMs,
      connectRate: connected / (connectMs / 1000),
      rssBeforeKiB,
      rssAfterKiB,
      perSocketKiB: connected ? (rssAfterKiB - rssBeforeKiB) / connected : NaN,
      stillOpen,
      serverCpuMs,
      setupMs,
    };
  } finally {
    await Promise.all(holders.map((h) => h.call('close', {}, 5000).catch(() => undefined)));
    await Promise.all(holders.map((h) => stopChild(h.child)));
    await server.stop();
  }
}

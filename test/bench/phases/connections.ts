/**
 * Phase (e), connections: S idle authenticated sockets (half agents on /agent, half customers on
 * /customer) into one server process. Agents keep several tabs each (several sockets per agent
 * token), customers one socket each. The sockets are held by several socket-holder processes
 * (the open-file limit is 20,000 per process). Measures RSS per socket, connect rate, failures.
 */
import { performance } from 'perf_hooks';
import { createCustomers, createLoggedInAgents, loginAll } from '../lib/api';
import { forkBenchScript, stopChild } from '../lib/children';
import { sleep } from '../lib/concurrency';
import { cpuTimeMs, memoryKiB } from '../lib/proc';
import type { ConnectReport, HolderInit, HolderSocket } from '../lib/protocol';
import { ChildRpc } from '../lib/rpc';
import { startOurServer } from '../lib/servers';

export interface ConnectionsOptions {
  sockets: number;
  /** Sockets per agent token (browser tabs). */
  tabsPerAgent: number;
  socketsPerHolder: number;
  concurrencyPerHolder: number;
  database: string;
  log: (line: string) => void;
}

export interface ConnectionsResult {
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

export async function runConnections(options: ConnectionsOptions): Promise<ConnectionsResult> {
  const setupStarted = Date.now();
  const server = await startOurServer({ database: options.database, label: 'connections' });
  const holders: ChildRpc[] = [];
  try {
    const { api, admin } = server;
    const agentSockets = Math.floor(options.sockets / 2);
    const customerSockets = options.sockets - agentSockets;
    const agentCount = Math.ceil(agentSockets / options.tabsPerAgent);
    options.log(`  creating ${agentCount} agents and ${customerSockets} customer sessions`);
    const accounts = await createLoggedInAgents(api, admin.token, agentCount, 2, 'conn');
    const agentTokens = (await loginAll(api, accounts)).map((s) => s.token);
    const customerTokens = (await createCustomers(api, customerSockets, 'conn', 32)).map((s) => s.token);
    const sockets = interleave(
      Array.from({ length: agentSockets }, (_, i) => ({ namespace: '/agent' as const, token: agentTokens[i % agentCount] })),
      customerTokens.map((token) => ({ namespace: '/customer' as const, token })),
    );
    const holderCount = Math.ceil(sockets.length / options.socketsPerHolder);
    for (let i = 0; i < holderCount; i++) holders.push(new ChildRpc(forkBenchScript('socket-holder.ts'), `socket-holder ${i + 1}`));
    const setupMs = Date.now() - setupStarted;
    await sleep(1000);

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
        };
        return holder.call<ConnectReport>('connect', init, 180_000);
      }),
    );
    const connectMs = performance.now() - started;
    const serverCpuMs = cpuTimeMs(server.pid) - cpuBefore;
    await sleep(2000);
    const rssAfterKiB = memoryKiB(server.pid);
    const stillOpen = (await Promise.all(holders.map((h) => h.call<number>('count', {}, 10_000)))).reduce((a, b) => a + b, 0);

    const connected = reports.reduce((sum, r) => sum + r.connected, 0);
    const errors: Record<string, number> = {};
    for (const r of reports) for (const [message, n] of Object.entries(r.errors)) errors[message] = (errors[message] ?? 0) + n;
    return {
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

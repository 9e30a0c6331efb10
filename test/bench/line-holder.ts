/**
 * Holds the sockets of the `waiting` phase (forked by phases/waiting.ts, IPC):
 *   - waiting customers: records every `conversation.queued` (when, which position) and when
 *     the customer's conversation was assigned;
 *   - agents (one socket each): resolves the conversations assigned to them, at a fixed total
 *     rate, except the long-lived chats the load generator uses.
 * Methods: `connect` (LineHolderInit → ConnectReport), `startResolving`, `report`, `close`.
 */
import { performance } from 'perf_hooks';
import { settleLimit, sleep } from './lib/concurrency';
import { LeanSocket } from './lib/lean-client';
import type { ConnectReport } from './lib/protocol';
import { serveRpc } from './lib/rpc';
import { Samples } from './lib/stats';

export interface LineHolderInit {
  url: string;
  customers: string[];
  agents: string[];
  /** Conversations the agents must not resolve (the chats of the load generator). */
  keep: number[];
  concurrency: number;
}

export interface LineReport {
  customers: number;
  /** Customers that were waiting at some point of the window. */
  waitingInWindow: number;
  pushesInWindow: number;
  /** Per customer, the longest time without a position update while it waited in the window. */
  maxGapMs: number;
  p99GapMs: number;
  over5s: number;
  resolved: number;
  resolveErrors: number;
  resolveErrorSamples: Record<string, number>;
  resolveAckP99: number;
}

interface Waiter {
  pushes: number[];
  assignedAt?: number;
}

let customers: LeanSocket[] = [];
let agents: LeanSocket[] = [];
const waiters: Waiter[] = [];
const toResolve: { id: number; socket: LeanSocket }[] = [];
const queuedForResolve = new Set<number>();
let keep = new Set<number>();
let resolving = false;
let resolved = 0;
let resolveErrors = 0;
const resolveErrorSamples: Record<string, number> = {};
let resolveAck = new Samples(1024);

interface Conv {
  id: number;
  status?: string;
  agentId?: number | null;
}

/** Queues an active conversation for its own agent's socket (only the agent of a conversation may resolve it). */
function wantResolve(socket: LeanSocket, conversation: Conv | undefined): void {
  if (!conversation || keep.has(conversation.id) || queuedForResolve.has(conversation.id) || conversation.status !== 'active') return;
  queuedForResolve.add(conversation.id);
  toResolve.push({ id: conversation.id, socket });
}

async function connect(init: LineHolderInit): Promise<ConnectReport> {
  const started = performance.now();
  keep = new Set(init.keep);
  const a = await settleLimit(init.agents, init.concurrency, async (token) => {
    const socket = new LeanSocket({ url: init.url, namespace: '/agent', token, connectTimeoutMs: 30_000 });
    socket.on('ready', (p) => (p as { conversations?: Conv[] }).conversations?.forEach((c) => wantResolve(socket, c)));
    socket.on('conversation.assigned', (p) => wantResolve(socket, (p as { conversation?: Conv }).conversation));
    return socket.connect();
  });
  const c = await settleLimit(init.customers, init.concurrency, async (token, i) => {
    const waiter: Waiter = { pushes: [] };
    waiters[i] = waiter;
    const socket = new LeanSocket({ url: init.url, namespace: '/customer', token, connectTimeoutMs: 30_000 });
    socket.on('conversation.queued', () => waiter.pushes.push(Date.now()));
    socket.on('conversation.assigned', () => (waiter.assignedAt ??= Date.now()));
    return socket.connect();
  });
  agents = a.results.filter((s): s is LeanSocket => !!s);
  customers = c.results.filter((s): s is LeanSocket => !!s);
  return {
    sockets: init.agents.length + init.customers.length,
    connected: agents.length + customers.length,
    failures: a.failures + c.failures,
    errors: { ...a.errors, ...c.errors },
    ms: performance.now() - started,
  };
}

/** Resolves `rate` conversations per second (round-robin over the agents' sockets) until stopped. */
async function resolveLoop(rate: number): Promise<void> {
  const interval = 1000 / rate;
  const started = performance.now();
  let done = 0;
  while (resolving) {
    const due = Math.floor((performance.now() - started) / interval);
    while (done < due && toResolve.length && resolving) {
      const { id, socket } = toResolve.shift() as { id: number; socket: LeanSocket };
      done++;
      const t0 = performance.now();
      socket.emit('conversation.resolve', { conversationId: id }, (r) => {
        const ack = r as { ok?: boolean; error?: { message?: string } };
        if (ack?.ok) {
          resolved++;
          resolveAck.push(performance.now() - t0);
        } else {
          resolveErrors++;
          const why = ack?.error?.message ?? 'malformed ack';
          resolveErrorSamples[why] = (resolveErrorSamples[why] ?? 0) + 1;
        }
      });
    }
    if (done < due && !toResolve.length) done = due; // nothing assigned yet: do not save up a burst
    await sleep(2);
  }
}

function report({ from, to }: { from: number; to: number }): LineReport {
  const gaps: number[] = [];
  let pushes = 0;
  for (const w of waiters) {
    if (!w) continue;
    const end = Math.min(to, w.assignedAt ?? Infinity);
    if (end <= from) continue;
    const inWindow = w.pushes.filter((t) => t >= from && t <= end);
    pushes += inWindow.length;
    let last = from;
    let max = 0;
    for (const t of [...inWindow, end]) {
      max = Math.max(max, t - last);
      last = t;
    }
    gaps.push(max);
  }
  gaps.sort((x, y) => x - y);
  const ack = resolveAck.percentiles();
  return {
    customers: customers.length,
    waitingInWindow: gaps.length,
    pushesInWindow: pushes,
    maxGapMs: gaps.length ? gaps[gaps.length - 1] : NaN,
    p99GapMs: gaps.length ? gaps[Math.min(gaps.length - 1, Math.ceil(0.99 * gaps.length) - 1)] : NaN,
    over5s: gaps.filter((g) => g > 5000).length,
    resolved,
    resolveErrors,
    resolveErrorSamples,
    resolveAckP99: ack.p99,
  };
}

serveRpc({
  connect,
  startResolving: async ({ rate }: { rate: number }) => {
    resolving = true;
    resolved = 0;
    resolveAck = new Samples(1024);
    void resolveLoop(rate);
    return true;
  },
  stopResolving: async () => {
    resolving = false;
    return { resolved, pending: toResolve.length };
  },
  report: async (window: { from: number; to: number }) => report(window),
  close: async () => {
    resolving = false;
    for (const socket of [...customers, ...agents]) socket.close();
    setTimeout(() => process.exit(0), 200);
    return true;
  },
});

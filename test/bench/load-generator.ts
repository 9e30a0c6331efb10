/**
 * Load generator: a separate process that holds N customer/agent socket pairs (lean client) and
 * sends `message.send` at a fixed total rate; the agents receive `message.new`.
 *
 * Each message's text starts with `<seq> <sendTime> ` (performance.now(), ms), so the receiving
 * agent computes the end-to-end latency from the text itself; `seq` finds lost, duplicated and
 * misrouted messages.
 *
 * Forked by run.ts and driven over IPC (`connect`, `run`, `close`), or standalone:
 *   node load-generator.js --config=init.json [--rate=1000] [--duration=20] [--drain=5]
 * which connects, runs once and prints the LoadResult as JSON.
 */
import { readFileSync } from 'fs';
import { performance } from 'perf_hooks';
import { settleLimit, sleep } from './lib/concurrency';
import { LeanSocket } from './lib/lean-client';
import type { ConnectReport, CustomerSpec, GeneratorInit, LoadResult, RunParams } from './lib/protocol';
import { serveRpc } from './lib/rpc';
import { Samples } from './lib/stats';

interface MessageNew {
  message?: { text?: string; conversationId?: number };
}

interface AckResponse {
  ok?: boolean;
  error?: { message?: string };
}

/** Bookkeeping for one fixed-rate run. Sequence numbers of a run are [base, base + total). */
class Run {
  sent = 0;
  acked = 0;
  ackErrors = 0;
  readonly ackErrorSamples: Record<string, number> = {};
  delivered = 0;
  duplicated = 0;
  misrouted = 0;
  lastDeliveryAt = 0;
  maxSendLagMs = 0;
  readonly e2e: Samples;
  readonly ack: Samples;
  private readonly seen: Uint8Array;

  constructor(
    readonly base: number,
    readonly total: number,
  ) {
    this.seen = new Uint8Array(total);
    this.e2e = new Samples(total);
    this.ack = new Samples(total);
  }

  owns(seq: number): boolean {
    return seq >= this.base && seq < this.base + this.total;
  }

  onAck(sentAt: number, response: AckResponse | undefined): void {
    if (response?.ok) {
      this.acked++;
      this.ack.push(performance.now() - sentAt);
      return;
    }
    this.ackErrors++;
    const reason = response?.error?.message ?? 'malformed ack';
    this.ackErrorSamples[reason] = (this.ackErrorSamples[reason] ?? 0) + 1;
  }

  onDelivered(seq: number, sentAt: number, now: number, correct: boolean): void {
    const i = seq - this.base;
    if (this.seen[i]) {
      this.duplicated++;
      return;
    }
    this.seen[i] = 1;
    this.delivered++;
    if (!correct) this.misrouted++;
    this.e2e.push(now - sentAt);
    this.lastDeliveryAt = now;
  }

  get settled(): boolean {
    return this.acked + this.ackErrors >= this.sent && this.delivered >= this.sent;
  }
}

class LoadGenerator {
  private customers: LeanSocket[] = [];
  private agents: LeanSocket[] = [];
  private specs: CustomerSpec[] = [];
  private nextSeq = 0;
  private current?: Run;
  private disconnects = 0;
  private stale = 0;

  async connect(init: GeneratorInit): Promise<ConnectReport> {
    const started = performance.now();
    const concurrency = init.connectConcurrency ?? 50;
    this.specs = init.customers;
    // Agents first, so that they are in their rooms before anyone sends.
    const agents = await settleLimit(init.agents, concurrency, (token, i) => this.open(init.agentUrls?.[i] ?? init.url, '/agent', token));
    const customers = await settleLimit(init.customers, concurrency, (spec) => this.open(spec.url ?? init.url, '/customer', spec.token));
    this.agents = agents.results as LeanSocket[];
    this.customers = customers.results as LeanSocket[];
    this.agents.forEach((socket, index) => socket?.on('message.new', (payload) => this.onMessageNew(index, payload as MessageNew)));
    const failures = agents.failures + customers.failures;
    return {
      sockets: init.agents.length + init.customers.length,
      connected: init.agents.length + init.customers.length - failures,
      failures,
      errors: { ...agents.errors, ...customers.errors },
      ms: performance.now() - started,
    };
  }

  async run(params: RunParams): Promise<LoadResult> {
    if (this.customers.length === 0 || this.customers.some((s) => !s) || this.agents.some((s) => !s)) {
      throw new Error('not connected (call connect first, with no failures)');
    }
    const { rate, durationS, drainS, textLength = 100, abortBacklogS } = params;
    const maxBacklog = abortBacklogS ? Math.max(50, rate * abortBacklogS) : Infinity;
    let aborted = false;
    const total = Math.max(1, Math.round(rate * durationS));
    const run = new Run(this.nextSeq, total);
    this.nextSeq += total;
    this.current = run;
    const disconnectsBefore = this.disconnects;
    const cpuBefore = process.cpuUsage();

    const started = performance.now();
    const interval = 1000 / rate;
    const hardStop = started + durationS * 1000 + 2000; // give up on sends the generator could not make in time
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - started) / interval) + 1);
        while (run.sent < due) {
          const intended = started + run.sent * interval;
          run.maxSendLagMs = Math.max(run.maxSendLagMs, performance.now() - intended);
          this.send(run, textLength);
        }
        aborted = run.sent - run.acked - run.ackErrors > maxBacklog;
        if (run.sent >= total || now > hardStop || aborted) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    const sendEnded = performance.now();

    const drainUntil = performance.now() + drainS * 1000;
    while (!run.settled && performance.now() < drainUntil) await sleep(10);
    const cpu = process.cpuUsage(cpuBefore);
    this.current = undefined;

    const activeMs = Math.max(run.lastDeliveryAt, sendEnded) - started;
    return {
      rate,
      durationS,
      sent: run.sent,
      sendRate: run.sent / ((sendEnded - started) / 1000 || 1),
      acked: run.acked,
      ackErrors: run.ackErrors,
      ackErrorSamples: run.ackErrorSamples,
      delivered: run.delivered,
      deliveredRate: run.delivered / (activeMs / 1000),
      lost: run.sent - run.delivered,
      duplicated: run.duplicated,
      misrouted: run.misrouted,
      e2e: run.e2e.percentiles(),
      ack: run.ack.percentiles(),
      maxSendLagMs: run.maxSendLagMs,
      aborted,
      generatorCpuMs: (cpu.user + cpu.system) / 1000,
      disconnects: this.disconnects - disconnectsBefore,
    };
  }

  close(): void {
    for (const socket of [...this.customers, ...this.agents]) socket?.close();
    this.customers = [];
    this.agents = [];
  }

  private async open(url: string, namespace: string, token: string): Promise<LeanSocket> {
    const socket = await new LeanSocket({ url, namespace, token }).connect();
    socket.on('disconnect', () => this.disconnects++);
    return socket;
  }

  private send(run: Run, textLength: number): void {
    const seq = run.base + run.sent++;
    const pair = seq % this.customers.length;
    const sentAt = performance.now();
    const head = `${seq} ${sentAt.toFixed(3)} `;
    const text = head.length >= textLength ? head : head + 'x'.repeat(textLength - head.length);
    this.customers[pair].emit(
      'message.send',
      { conversationId: this.specs[pair].conversationId, text, clientMessageId: `${process.pid}-${seq}` },
      (response) => run.onAck(sentAt, response as AckResponse),
    );
  }

  private onMessageNew(agentIndex: number, payload: MessageNew): void {
    const now = performance.now();
    const message = payload?.message;
    const text = message?.text;
    if (typeof text !== 'string') return;
    const space = text.indexOf(' ');
    const seq = Number(text.slice(0, space));
    const run = this.current;
    if (!run || !run.owns(seq)) {
      this.stale++;
      return;
    }
    const sentAt = Number(text.slice(space + 1, text.indexOf(' ', space + 1)));
    const spec = this.specs[seq % this.specs.length];
    run.onDelivered(seq, sentAt, now, spec.agentIndex === agentIndex && spec.conversationId === message?.conversationId);
  }
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

async function standalone(): Promise<void> {
  const configPath = arg('config');
  if (!configPath) throw new Error('usage: load-generator --config=init.json [--rate=1000] [--duration=20] [--drain=5]');
  const generator = new LoadGenerator();
  const init = JSON.parse(readFileSync(configPath, 'utf8')) as GeneratorInit;
  const connect = await generator.connect(init);
  if (connect.failures > 0) throw new Error(`connect failures: ${JSON.stringify(connect.errors)}`);
  const result = await generator.run({
    rate: Number(arg('rate') ?? 1000),
    durationS: Number(arg('duration') ?? 20),
    drainS: Number(arg('drain') ?? 5),
  });
  generator.close();
  process.stdout.write(`${JSON.stringify({ connect, result })}\n`);
  process.exit(0);
}

if (process.send) {
  const generator = new LoadGenerator();
  serveRpc({
    connect: (init: GeneratorInit) => generator.connect(init),
    run: (params: RunParams) => generator.run(params),
    close: async () => {
      generator.close();
      setTimeout(() => process.exit(0), 50);
      return true;
    },
  });
} else {
  standalone().catch((error) => {
    process.stderr.write(`load-generator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

/** What the growth phases (h–l) share: PostgreSQL access for seeding, a load generator, sequential latencies, CPU per process. */
import { performance } from 'perf_hooks';
import { Client } from 'pg';
import { forkBenchScript, stopChild } from '../lib/children';
import { cpuTimeMs, cpuTimesOfCommand } from '../lib/proc';
import type { ConnectReport, GeneratorInit, LoadResult, RunParams } from '../lib/protocol';
import { ChildRpc } from '../lib/rpc';
import { DEFAULT_POSTGRES_URL } from '../lib/servers';
import { Samples, type Percentiles } from '../lib/stats';

export interface GrowthOptions {
  quick: boolean;
  /** `embedded` or a PostgreSQL URL; the growth phases seed with SQL and always run on PostgreSQL. */
  database: string;
  log: (line: string) => void;
}

/** The growth phases need PostgreSQL (seeding a million rows, two instances): the given URL, else the machine's. */
export const growthDatabase = (database: string): string => (database === 'embedded' ? DEFAULT_POSTGRES_URL : database);

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A load generator connected to `init` (warmed up), to run fixed-rate message runs. */
export async function openGenerator(init: GeneratorInit, label: string, warmup = { rate: 500, durationS: 2 }): Promise<ChildRpc> {
  const generator = new ChildRpc(forkBenchScript('load-generator.ts'), `load-generator(${label})`);
  const connect = await generator.call<ConnectReport>('connect', init, 120_000);
  if (connect.failures > 0) {
    await closeGenerator(generator);
    throw new Error(`${connect.failures} of ${connect.sockets} sockets failed to connect: ${JSON.stringify(connect.errors)}`);
  }
  await generator.call('run', { ...warmup, drainS: 3 }, 60_000);
  return generator;
}

export async function closeGenerator(generator: ChildRpc): Promise<void> {
  await generator.call('close', {}, 5000).catch(() => undefined);
  await stopChild(generator.child);
}

export interface MessageRun {
  result: LoadResult;
  /** CPU time of each watched process over the run, by label. */
  cpuMs: Record<string, number>;
  postgresCpuMs: number;
}

/** One fixed-rate run, with the CPU each of `pids` (and PostgreSQL) used meanwhile. */
export async function messageRun(generator: ChildRpc, params: RunParams, pids: Record<string, number>): Promise<MessageRun> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTimeMs(pid)]));
  const db0 = cpuTimesOfCommand('postgres');
  const result = await generator.call<LoadResult>('run', params, (params.durationS + params.drainS) * 1000 + 30_000);
  const cpuMs = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTimeMs(pid) - before[k]]));
  const db1 = cpuTimesOfCommand('postgres');
  let postgresCpuMs = 0;
  for (const [pid, ms] of db1) postgresCpuMs += ms - (db0.get(pid) ?? 0);
  return { result, cpuMs, postgresCpuMs };
}

/** µs of CPU per delivered message. */
export const perMessageUs = (cpuMs: number, run: MessageRun) => (run.result.delivered ? (cpuMs * 1000) / run.result.delivered : NaN);

/** Latency percentiles of `count` calls made one after the other (each call gets its index). */
export async function sequentialLatency(count: number, call: (i: number) => Promise<unknown>): Promise<Percentiles> {
  const samples = new Samples(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await call(i);
    samples.push(performance.now() - t0);
  }
  return samples.percentiles();
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
export const times = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

export function mdTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

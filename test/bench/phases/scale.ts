/**
 * Scale-out phases, two instances of our server sharing PostgreSQL and a Redis (a private
 * redis-server child on a free port):
 *   (k) burst2: the allocation burst (1,000 starts against 100 agents × 5) on one instance
 *       without Redis, then split over two instances with Redis, in the same run;
 *   (l) redis: the cost of the Socket.IO Redis adapter per message: one instance without Redis,
 *       then two instances with Redis with every pair on the first (messages stay local, but
 *       each broadcast is still published), then each customer on the first and its agent on the
 *       second (every message crosses).
 */
import type { GeneratorInit } from '../lib/protocol';
import { startRedis } from '../lib/redis';
import { startOurServer } from '../lib/servers';
import { type BurstResult, runBurst } from './burst';
import { closeGenerator, fmt, growthDatabase, GrowthOptions, mdTable, messageRun, MessageRun, openGenerator, perMessageUs, times } from './growth-common';
import { ourPairs } from './throughput';

export interface Burst2Result {
  single: BurstResult;
  split: BurstResult;
}

export async function runBurst2(options: GrowthOptions): Promise<Burst2Result> {
  const database = growthDatabase(options.database);
  const shape = { customers: options.quick ? 500 : 1000, agents: options.quick ? 50 : 100, capacity: 5, spreadMs: 1000, database, log: options.log };
  options.log('  burst2: one instance, no Redis');
  const single = await runBurst(shape);
  const redis = await startRedis();
  try {
    options.log('  burst2: two instances with Redis');
    const split = await runBurst({ ...shape, instances: 2, redisUrl: redis.url });
    return { single, split };
  } finally {
    await redis.stop();
  }
}

export function burst2Section(r: Burst2Result): string {
  const row = (label: string, b: BurstResult) => [
    label,
    `${fmt(b.totalMs, 0)} ms`,
    `${fmt(b.afterLastFiredMs ?? NaN, 0)} ms`,
    fmt(b.allocationsPerS, 0),
    `${b.active} / ${b.queued}`,
    String(b.errors),
    `${fmt(b.responseLatency.p50, 0)} / ${fmt(b.responseLatency.p99, 0)}`,
    `${b.activeByStatuses} / ${b.queuedByList}`,
    String(b.maxActivePerAgent),
    String(b.violations),
    fmt(b.serverCpuMs, 0),
  ];
  const ok = (b: BurstResult) => (b.afterLastFiredMs ?? Infinity) <= 2000 && b.violations === 0 && b.errors === 0 && b.active + b.queued === b.customers;
  return [
    `### Scale-out: allocation burst of ${r.single.customers.toLocaleString('en')} starts against ${r.single.agents} agents × ${r.single.capacity}, one instance and two (phase \`burst2\`)`,
    '',
    'Two instances share the database and a Redis (Socket.IO adapter); requests alternate between them. Decisions stay serialised by the one advisory lock across both.',
    '',
    mdTable(
      ['setup', 'first sent → last answered', 'last sent → last answered', 'allocations/s', 'active / queued', 'errors', 'response p50 / p99 ms', 'read back active / queued', 'max active per agent', 'capacity violations', 'server CPU ms (all instances)'],
      [row('one instance, no Redis', r.single), row('two instances + Redis', r.split)],
    ),
    ...[r.single, r.split].filter((b) => b.errors).map((b) => `\nerrors (${b.instances} instance(s)): ${JSON.stringify(b.errorSamples).slice(0, 300)}`),
    '',
    mdTable(
      ['goal', 'measured', 'met'],
      [
        ['all answered within 2 s of the last one fired, 0 violations (one instance)', `${fmt(r.single.afterLastFiredMs ?? NaN, 0)} ms, ${r.single.violations} violations`, ok(r.single) ? 'yes' : '**NO**'],
        ['the same over two instances with Redis', `${fmt(r.split.afterLastFiredMs ?? NaN, 0)} ms, ${r.split.violations} violations`, ok(r.split) ? 'yes' : '**NO**'],
      ],
    ),
  ].join('\n');
}

export interface RedisConfigRun {
  label: string;
  run: MessageRun;
  /** µs per message of each process. */
  perMsg: Record<string, number>;
}

export interface RedisResult {
  pairs: number;
  rate: number;
  durationS: number;
  configs: RedisConfigRun[];
}

export async function runRedisCost(options: GrowthOptions): Promise<RedisResult> {
  const database = growthDatabase(options.database);
  const pairs = options.quick ? 50 : 200;
  const rate = 1000;
  const durationS = options.quick ? 5 : 15;
  const params = { rate, durationS, drainS: 3 };
  const configs: RedisConfigRun[] = [];
  const record = (label: string, run: MessageRun) => {
    const perMsg = Object.fromEntries(Object.entries(run.cpuMs).map(([k, ms]) => [k, perMessageUs(ms, run)]));
    configs.push({ label, run, perMsg });
    options.log(`  redis (${label}): ${Object.entries(perMsg).map(([k, v]) => `${k} ${fmt(v)} µs/msg`).join(', ')}, e2e p99 ${fmt(run.result.e2e.p99, 2)} ms`);
  };

  const single = await startOurServer({ database, label: 'redis-single' });
  try {
    const init = await ourPairs(single, pairs, 50, 'rs');
    const generator = await openGenerator(init, 'redis-single');
    try {
      record('one instance, no Redis', await messageRun(generator, params, { 'instance A': single.pid }));
    } finally {
      await closeGenerator(generator);
    }
  } finally {
    await single.stop();
  }

  const redis = await startRedis();
  try {
    const a = await startOurServer({ database, label: 'redis-a', redisUrl: redis.url });
    try {
      const b = await startOurServer({ database, label: 'redis-b', redisUrl: redis.url, joinOf: a });
      try {
        const init = await ourPairs(a, pairs, 50, 'rx');
        const pids = { 'instance A': a.pid, 'instance B': b.pid, redis: redis.pid };
        const local: GeneratorInit = { url: a.url, agents: init.agents, customers: init.customers };
        const crossing: GeneratorInit = { ...local, agentUrls: init.agents.map(() => b.url) };
        for (const [label, gi] of [
          ['two instances + Redis, pairs local to A', local],
          ['two instances + Redis, every message crosses A → B', crossing],
        ] as const) {
          const generator = await openGenerator(gi, label);
          try {
            record(label, await messageRun(generator, params, pids));
          } finally {
            await closeGenerator(generator);
          }
        }
      } finally {
        await b.stop();
      }
    } finally {
      await a.stop();
    }
  } finally {
    await redis.stop();
  }
  return { pairs, rate, durationS, configs };
}

export function redisSection(r: RedisResult): string {
  const total = (c: RedisConfigRun) => Object.entries(c.perMsg).filter(([k]) => k !== 'redis').reduce((s, [, v]) => s + v, 0);
  const base = r.configs[0];
  return [
    `### Scale-out: the Redis adapter's cost per message, ${r.pairs} pairs at ${r.rate} msg/s for ${r.durationS} s (phase \`redis\`)`,
    '',
    'CPU per delivered message of each process. "Pairs local": customer and agent sockets on instance A (the adapter still publishes every broadcast to Redis, and B receives and drops it); "crosses": customers on A, their agents on B.',
    '',
    mdTable(
      ['setup', 'instance A µs/msg', 'instance B µs/msg', 'redis-server µs/msg', 'instances total µs/msg', 'vs one instance', 'postgres µs/msg', 'e2e p50 / p99 ms', 'lost / dup'],
      r.configs.map((c) => [
        c.label,
        fmt(c.perMsg['instance A']),
        fmt(c.perMsg['instance B'] ?? NaN),
        fmt(c.perMsg.redis ?? NaN),
        fmt(total(c)),
        times(total(c), total(base)),
        fmt(perMessageUs(c.run.postgresCpuMs, c.run)),
        `${fmt(c.run.result.e2e.p50, 2)} / ${fmt(c.run.result.e2e.p99, 2)}`,
        `${c.run.result.lost + c.run.result.ackErrors} / ${c.run.result.duplicated + c.run.result.misrouted}`,
      ]),
    ),
  ].join('\n');
}

/** Command-line options of `npm run bench`. */
import { DEFAULT_POSTGRES_URL } from './servers';

export const PHASES = ['bare', 'insert', 'ours', 'burst', 'connections', 'reports', 'hooked', 'hookedsplit', 'history', 'waiting', 'agents', 'burst2', 'redis'] as const;
/** The growth and scale-out phases (issue 15): each writes its own section of BENCHMARKS.md. */
export const GROWTH_PHASES = ['history', 'waiting', 'agents', 'burst2', 'redis'] as const;
export type Phase = (typeof PHASES)[number];
/** Phases run only when named with --only. */
export const OPTIONAL_PHASES: Phase[] = ['reports', 'hooked', 'hookedsplit'];

const ALIASES: Record<string, Phase[]> = {
  a: ['bare'],
  b: ['insert'],
  c: ['ours'],
  d: ['burst'],
  e: ['connections'],
  g: ['hooked'],
  outbox: ['ours', 'hooked', 'hookedsplit'],
  h: ['history'],
  i: ['waiting'],
  j: ['agents'],
  k: ['burst2'],
  l: ['redis'],
  growth: [...GROWTH_PHASES],
  references: ['bare', 'insert'],
  throughput: ['bare', 'insert', 'ours'],
  messages: ['bare', 'insert', 'ours'],
  allocation: ['burst'],
  sockets: ['connections'],
  f: ['reports'],
  statistics: ['reports'],
};

export interface BenchOptions {
  quick: boolean;
  phases: Phase[];
  rate: number;
  durationS: number;
  pairs: number;
  rounds: number;
  drainS: number;
  warmupS: number;
  ramp: boolean;
  rampStepS: number;
  rampMaxSteps: number;
  rampStartRate: number;
  burstCustomers: number;
  burstAgents: number;
  burstCapacity: number;
  burstSpreadMs: number;
  sockets: number;
  tabsPerAgent: number;
  reportsConversations: number;
  reportsAgents: number;
  reportsRuns: number;
  /** `embedded` or a PostgreSQL URL, for our server. */
  database: string;
  /** Run `nest build contact-center` first: when dist is older than the sources (auto), always, or never. */
  build: 'auto' | 'always' | 'never';
  write: boolean;
  /** Write the sections of the growth phases that ran (each its own; partial runs may write them). */
  writeGrowth: boolean;
  profile: boolean;
  budgetS: number;
}

export const USAGE = `usage: npm run bench -- [options]
  --quick              one round, short phases, 100 pairs, burst of 500 against 50 × 5, 2,000 sockets (under 2 minutes)
  --only=<phases>      comma list of bare|insert|ours|burst|connections|reports|hooked|hookedsplit|history|waiting|agents|burst2|redis
                       (or a..l, references, throughput, growth = history..redis);
                       reports (f) is optional: it runs only when named, and needs PostgreSQL;
                       hooked (g) is optional: our server with one message.created webhook, sending them itself;
                       hookedsplit too: the same webhook, the server with WEBHOOK_DISPATCH=false and a
                       dispatch-only instance (nice 19) sending (outbox = ours,hooked,hookedsplit)
  --conversations=<n>  conversations seeded by the reports phase (default 1000000; quick 100000)
  --agents=<n>         agents seeded by the reports phase (default 10000; quick 1000)
  --rate=<msg/s>       fixed-rate run, total over all pairs (default 1000)
  --duration=<s>       fixed-rate run length (default 20; quick 5)
  --pairs=<n>          customer/agent pairs (default 200; quick 100)
  --rounds=<n>         alternating rounds of reference and ours (default 3; quick 1)
  --no-ramp            skip the search for the highest sustained rate
  --ramp-step=<s>      length of one ramp step (default 3; quick 2)
  --sockets=<n>        idle sockets in the connections phase (default 10000; quick 2000)
  --db=<embedded|postgres|url>   our server's database (default: DATABASE_URL if set, else embedded)
  --build / --no-build always / never run 'nest build contact-center' first
                       (default: only when dist/ is older than apps/, libs/ or tsconfig.json)
  --profile            CPU-profile our server during the message phase and report where its time goes
                       (profiling slows it down: compare numbers only between profiled runs)
  --write / --no-write update BENCHMARKS.md (default: yes, except with --quick, --only or --profile;
                       the growth phases write their own sections also with --only, never with --quick)`;

export function parseArgs(argv: string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    flags.set(match[1], match[2] ?? 'true');
  }
  const known = ['quick', 'only', 'rate', 'duration', 'pairs', 'rounds', 'no-ramp', 'ramp-step', 'sockets', 'db', 'build', 'no-build', 'profile', 'write', 'no-write', 'help', 'conversations', 'agents'];
  for (const key of flags.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key}\n${USAGE}`);
  if (flags.has('help')) throw new Error(USAGE);

  const quick = flags.has('quick');
  const number = (key: string, fallback: number) => {
    const raw = flags.get(key);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${key} must be a positive number`);
    return value;
  };
  const phases = flags.has('only')
    ? [...new Set((flags.get('only') as string).split(',').flatMap((p) => ALIASES[p] ?? (PHASES.includes(p as Phase) ? [p as Phase] : fail(`unknown phase ${p}`))))]
    : PHASES.filter((p) => !OPTIONAL_PHASES.includes(p));
  const db = flags.get('db') ?? (process.env.DATABASE_URL ? process.env.DATABASE_URL : 'embedded');

  return {
    quick,
    phases,
    rate: number('rate', 1000),
    durationS: number('duration', quick ? 5 : 20),
    pairs: Math.round(number('pairs', quick ? 100 : 200)),
    rounds: Math.round(number('rounds', quick ? 1 : 3)),
    drainS: quick ? 3 : 5,
    warmupS: quick ? 1 : 2,
    ramp: !flags.has('no-ramp'),
    rampStepS: number('ramp-step', quick ? 2 : 3),
    rampMaxSteps: quick ? 5 : 8,
    rampStartRate: 2000,
    burstCustomers: quick ? 500 : 1000,
    burstAgents: quick ? 50 : 100,
    burstCapacity: 5,
    burstSpreadMs: 1000,
    sockets: Math.round(number('sockets', quick ? 2000 : 10_000)),
    tabsPerAgent: 10,
    reportsConversations: Math.round(number('conversations', quick ? 100_000 : 1_000_000)),
    reportsAgents: Math.round(number('agents', quick ? 1000 : 10_000)),
    reportsRuns: quick ? 3 : 5,
    database: db === 'postgres' ? DEFAULT_POSTGRES_URL : db,
    build: flags.has('no-build') ? 'never' : flags.has('build') ? 'always' : 'auto',
    profile: flags.has('profile'),
    write: flags.has('no-write') ? false : flags.has('write') || (!quick && !flags.has('only') && !flags.has('profile')),
    writeGrowth: flags.has('no-write') ? false : flags.has('write') || (!quick && !flags.has('profile')),
    budgetS:
      (quick ? 300 : 900) +
      phases.filter((p) => (GROWTH_PHASES as readonly string[]).includes(p)).length * (quick ? 120 : 240) +
      // The outbox targets wait for their deliveries after every run.
      phases.filter((p) => p === 'hooked' || p === 'hookedsplit').length * (quick ? 60 : 240),
  };
}

function fail(message: string): never {
  throw new Error(`${message}\n${USAGE}`);
}

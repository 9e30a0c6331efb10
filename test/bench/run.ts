/**
 * `npm run bench`: benchmarks of issue 6.
 *   (a) bare Socket.IO relay, (b) relay + one INSERT per message, (c) our server — same workload,
 *   alternating, several rounds; (d) allocation burst; (e) 10,000 idle sockets; optional (f, only
 *   with --only=reports): report queries over 1,000,000 conversations.
 * Prints markdown tables, and (full runs) updates the generated section of BENCHMARKS.md.
 * See lib/cli.ts for the options.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { runBurst } from './phases/burst';
import { runConnections } from './phases/connections';
import { runReports } from './phases/reports';
import { OUR_TARGETS, runThroughput, TargetName } from './phases/throughput';
import { GROWTH_RUNNERS } from './phases/growth';
import { BUILD_DIR, buildBenchScripts, installExitHandlers, killAllChildren, setChildDeadline } from './lib/children';
import { BenchOptions, GROWTH_PHASES, parseArgs } from './lib/cli';
import { loadAverage, machineDescription } from './lib/proc';
import { latestProfile, summarizeProfile } from './lib/profile';
import { renderReport, type RunSummary, writeBenchmarksFile, writeBenchmarksSection } from './lib/report';
import { buildOurServer, ourBuildIsStale, redactUrl, REPO_ROOT } from './lib/servers';

const started = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);

function describeMachine(): string {
  const m = machineDescription();
  let nproc = String(m.cpus);
  try {
    nproc = execFileSync('nproc').toString().trim();
  } catch {
    /* keep /proc/cpuinfo's count */
  }
  return `${nproc} CPUs (nproc), ${m.model}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node.js ${process.version}`;
}

/** What the phases share: the options, the report being filled in, and whether anything failed. */
interface Context {
  options: BenchOptions;
  summary: RunSummary;
  failed: boolean;
  oursBuilt: boolean;
  /** Markdown of the growth phases that ran, each for its own section of BENCHMARKS.md. */
  growth: { key: string; markdown: string }[];
}

/** Builds our server when asked to (or when dist/ is older than the sources); a failure skips its phases. */
async function buildPhase(ctx: Context): Promise<void> {
  const { options, summary } = ctx;
  const needsOurs = options.phases.some((p) => p !== 'bare' && p !== 'insert');
  if (!needsOurs || options.build === 'never' || (options.build === 'auto' && !ourBuildIsStale())) return;
  log('building our server (nest build contact-center)');
  try {
    await buildOurServer();
  } catch (error) {
    ctx.oursBuilt = false;
    ctx.failed = true;
    const firstError = (error as Error).message.split('\n').find((line) => /error/i.test(line) && !/failed \(exit/.test(line));
    summary.notes.push(`our server could not be built (test/bench/.build/logs/nest-build.log)${firstError ? `: ${firstError.trim()}` : ''}`);
    log((error as Error).message);
  }
}

/** Phases a–c. */
async function messagePhases(ctx: Context): Promise<void> {
  const { options, summary } = ctx;
  const ours = (p: string): p is TargetName => OUR_TARGETS.includes(p as TargetName);
  const targets = options.phases.filter((p): p is TargetName => p === 'bare' || p === 'insert' || (ours(p) && ctx.oursBuilt));
  if (options.phases.some(ours) && !ctx.oursBuilt) summary.notes.push('ours: skipped, our server was not built');
  if (!targets.length) return;
  log(`messages: ${targets.join(', ')}; ${options.pairs} pairs, ${options.rate} msg/s × ${options.durationS} s, ${options.rounds} round(s)${options.ramp ? ', with ramp' : ''}`);
  const profiled = targets.filter(ours);
  const profileDir = options.profile && profiled.length ? join(BUILD_DIR, 'profiles', String(started)) : undefined;
  summary.throughput = await runThroughput({ ...options, targets, profileDir, log });
  ctx.failed ||= summary.throughput.some((t) => t.error || t.rounds.some((r) => r.error) || (t.webhook && !t.webhook.ok));
  if (!profileDir) return;
  // Each of our targets profiles into its own folder, summarized over its own measured windows.
  summary.profiles = [];
  for (const target of profiled) {
    const profile = latestProfile(join(profileDir, target));
    if (profile) summary.profiles.push({ target, ...summarizeProfile(profile, summary.throughput.find((t) => t.name === target)?.measuredWindows) });
    else summary.notes.push(`--profile: our server (${target}) wrote no CPU profile (did it exit normally on SIGTERM?)`);
  }
}

/** Phase d. */
async function burstPhase(ctx: Context): Promise<void> {
  const { options, summary } = ctx;
  if (!options.phases.includes('burst')) return;
  if (!ctx.oursBuilt) {
    summary.notes.push('burst: skipped, our server was not built');
    return;
  }
  log(`allocation burst: ${options.burstCustomers} customers, ${options.burstAgents} agents × ${options.burstCapacity}`);
  summary.burst = await runBurst({
    customers: options.burstCustomers,
    agents: options.burstAgents,
    capacity: options.burstCapacity,
    spreadMs: options.burstSpreadMs,
    database: options.database,
    log,
  }).catch((error: Error) => ({ error: error.message }));
  ctx.failed ||= 'error' in summary.burst;
}

/** Phase e: the bare relay as the floor, then ours. */
async function connectionsPhase(ctx: Context): Promise<void> {
  const { options, summary } = ctx;
  if (!options.phases.includes('connections')) return;
  if (!ctx.oursBuilt) summary.notes.push('connections (ours): skipped, our server was not built');
  summary.connections = [];
  for (const target of ctx.oursBuilt ? (['bare', 'ours'] as const) : (['bare'] as const)) {
    log(`connections: ${options.sockets} idle sockets into ${target === 'ours' ? 'our server' : 'the bare relay'}`);
    const result = await runConnections({
      target,
      sockets: options.sockets,
      tabsPerAgent: options.tabsPerAgent,
      socketsPerHolder: 5000,
      concurrencyPerHolder: 100,
      timeLimitS: options.quick ? 30 : 60,
      database: options.database,
      log,
    }).catch((error: Error) => ({ target, error: error.message }));
    summary.connections.push(result);
    ctx.failed ||= 'error' in result;
  }
}

/** Phase f (optional): the statistics and report queries over a seeded history. */
async function reportsPhase(ctx: Context): Promise<void> {
  const { options, summary } = ctx;
  if (!options.phases.includes('reports')) return;
  log(`reports: seeding ${options.reportsConversations} conversations and ${options.reportsAgents} agents' history`);
  summary.reports = await runReports({
    database: options.database,
    conversations: options.reportsConversations,
    agents: options.reportsAgents,
    runs: options.reportsRuns,
    keep: !!process.env.BENCH_KEEP_DB,
    log,
  }).catch((error: Error) => ({ error: error.message }));
  ctx.failed ||= 'error' in summary.reports;
}

/** Phases h–l (issue 15): growth of the data and scale-out; each renders its own section. */
async function growthPhases(ctx: Context): Promise<void> {
  const { options } = ctx;
  for (const key of GROWTH_PHASES) {
    if (!options.phases.includes(key)) continue;
    if (!ctx.oursBuilt) {
      ctx.summary.notes.push(`${key}: skipped, our server was not built`);
      continue;
    }
    const runner = GROWTH_RUNNERS[key];
    log(`${key}: ${runner.title}`);
    const phaseStarted = Date.now();
    const load = loadAverage();
    let markdown: string;
    try {
      markdown = await runner.run({ quick: options.quick, database: options.database, log });
    } catch (error) {
      ctx.failed = true;
      log(`${key}: ${(error as Error).stack ?? error}`);
      markdown = `### ${runner.title} (phase \`${key}\`)\n\n**failed**: ${(error as Error).message.split('\n')[0]}`;
    }
    const note = `- run ${new Date(phaseStarted).toISOString().replace(/\.\d+Z$/, 'Z')} (\`npm run bench -- --only=${key}${options.quick ? ' --quick' : ''}\`), ${((Date.now() - phaseStarted) / 1000).toFixed(0)} s; 1-minute load average ${load.toFixed(2)} at the start${load > 0.5 ? ' (the machine was loaded by other work: compare ratios within this run, not absolute figures)' : ''}`;
    ctx.growth.push({ key, markdown: `${markdown}\n\n${note}` });
  }
}

function publish({ options, summary, growth }: Context, loadAtStart: number): void {
  summary.notes.push(
    `total bench time ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadAtStart.toFixed(2)} at the start, ${loadAverage().toFixed(2)} at the end` +
      (loadAtStart > 0.5 ? ' (other work was running: numbers are noisier than usual)' : ''),
  );
  const report = renderReport(summary);
  process.stdout.write(`\n${report}\n`);
  for (const g of growth) process.stdout.write(`\n${g.markdown}\n`);
  if (options.writeGrowth) {
    for (const g of growth) writeBenchmarksSection(join(REPO_ROOT, 'BENCHMARKS.md'), g.key, g.markdown);
    if (growth.length) log(`BENCHMARKS.md: sections ${growth.map((g) => g.key).join(', ')} updated`);
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  writeFileSync(join(BUILD_DIR, 'last-run.json'), JSON.stringify(summary, null, 2));
  if (options.write) {
    writeBenchmarksFile(join(REPO_ROOT, 'BENCHMARKS.md'), report);
    log('BENCHMARKS.md updated');
  }
  log(`raw results: ${join(BUILD_DIR, 'last-run.json')}`);
}

async function main(options: BenchOptions): Promise<number> {
  installExitHandlers();
  setChildDeadline(started + options.budgetS * 1000 + 5000);
  setTimeout(() => {
    log(`time budget of ${options.budgetS} s exceeded: stopping`);
    killAllChildren();
    process.exit(2);
  }, options.budgetS * 1000).unref();

  const loadAtStart = loadAverage();
  buildBenchScripts();
  const ctx: Context = {
    options,
    failed: false,
    oursBuilt: true,
    growth: [],
    summary: {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine: describeMachine(),
      options: { rate: options.rate, durationS: options.durationS, pairs: options.pairs, rounds: options.rounds, ramp: options.ramp, database: redactUrl(options.database) },
      notes: [],
    },
  };
  await buildPhase(ctx);
  await messagePhases(ctx);
  await burstPhase(ctx);
  await connectionsPhase(ctx);
  await reportsPhase(ctx);
  await growthPhases(ctx);
  publish(ctx, loadAtStart);
  return ctx.failed ? 1 : 0;
}

let options: BenchOptions;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(64);
}
main(options)
  .then((code) => {
    killAllChildren();
    process.exit(code);
  })
  .catch((error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    killAllChildren();
    process.exit(1);
  });

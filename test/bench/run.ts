/**
 * `npm run bench`: benchmarks of issue 6.
 *   (a) bare Socket.IO relay, (b) relay + one INSERT per message, (c) our server — same workload,
 *   alternating, several rounds; (d) allocation burst; (e) 10,000 idle sockets.
 * Prints markdown tables, and (full runs) updates the generated section of BENCHMARKS.md.
 * See lib/cli.ts for the options.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { runBurst } from './phases/burst';
import { runConnections } from './phases/connections';
import { runThroughput, TargetName } from './phases/throughput';
import { BUILD_DIR, buildBenchScripts, installExitHandlers, killAllChildren, setChildDeadline } from './lib/children';
import { BenchOptions, parseArgs } from './lib/cli';
import { machineDescription } from './lib/proc';
import { renderReport, RunSummary, writeBenchmarksFile } from './lib/report';
import { buildOurServer, REPO_ROOT } from './lib/servers';

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

function redactUrl(url: string): string {
  return url === 'embedded' ? 'embedded (PGlite)' : url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

async function main(options: BenchOptions): Promise<number> {
  installExitHandlers();
  const deadline = started + options.budgetS * 1000;
  setChildDeadline(deadline + 5000);
  const watchdog = setTimeout(() => {
    log(`time budget of ${options.budgetS} s exceeded: stopping`);
    killAllChildren();
    process.exit(2);
  }, options.budgetS * 1000);
  watchdog.unref();

  buildBenchScripts();
  const summary: RunSummary = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: describeMachine(),
    options: { rate: options.rate, durationS: options.durationS, pairs: options.pairs, rounds: options.rounds, ramp: options.ramp, database: redactUrl(options.database) },
    notes: [],
  };
  let failed = false;

  const needsOurs = options.phases.some((p) => p === 'ours' || p === 'burst' || p === 'connections');
  let oursBuilt = true;
  if (needsOurs && options.build) {
    log('building our server (nest build contact-center)');
    try {
      await buildOurServer();
    } catch (error) {
      oursBuilt = false;
      failed = true;
      summary.notes.push(`our server could not be built: ${(error as Error).message.split('\n')[0]}`);
      log((error as Error).message);
    }
  }
  const skipOurs = (phase: string) => {
    summary.notes.push(`${phase}: skipped, our server was not built`);
  };

  const throughputTargets = options.phases.filter((p): p is TargetName => p === 'bare' || p === 'insert' || p === 'ours').filter((p) => p !== 'ours' || oursBuilt);
  if (options.phases.includes('ours') && !oursBuilt) skipOurs('ours');
  if (throughputTargets.length) {
    log(`messages: ${throughputTargets.join(', ')}; ${options.pairs} pairs, ${options.rate} msg/s × ${options.durationS} s, ${options.rounds} round(s)${options.ramp ? ', with ramp' : ''}`);
    summary.throughput = await runThroughput({ ...options, targets: throughputTargets, log });
    failed ||= summary.throughput.some((t) => t.error || t.rounds.some((r) => r.error));
  }

  if (options.phases.includes('burst')) {
    if (!oursBuilt) skipOurs('burst');
    else {
      log(`allocation burst: ${options.burstCustomers} customers, ${options.burstAgents} agents × ${options.burstCapacity}`);
      summary.burst = await runBurst({
        customers: options.burstCustomers,
        agents: options.burstAgents,
        capacity: options.burstCapacity,
        spreadMs: options.burstSpreadMs,
        database: options.database,
        log,
      }).catch((error: Error) => ({ error: error.message }));
      failed ||= 'error' in summary.burst;
    }
  }

  if (options.phases.includes('connections')) {
    if (!oursBuilt) skipOurs('connections');
    else {
      log(`connections: ${options.sockets} idle sockets`);
      summary.connections = await runConnections({
        sockets: options.sockets,
        tabsPerAgent: options.tabsPerAgent,
        socketsPerHolder: 5000,
        concurrencyPerHolder: 100,
        database: options.database,
        log,
      }).catch((error: Error) => ({ error: error.message }));
      failed ||= 'error' in summary.connections;
    }
  }

  summary.notes.push(`total bench time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const report = renderReport(summary);
  process.stdout.write(`\n${report}\n`);
  mkdirSync(BUILD_DIR, { recursive: true });
  writeFileSync(join(BUILD_DIR, 'last-run.json'), JSON.stringify(summary, null, 2));
  if (options.write) {
    writeBenchmarksFile(join(REPO_ROOT, 'BENCHMARKS.md'), report);
    log('BENCHMARKS.md updated');
  }
  log(`raw results: ${join(BUILD_DIR, 'last-run.json')}`);
  return failed ? 1 : 0;
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

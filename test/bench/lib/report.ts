/** Markdown tables for the terminal and for BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'fs';
import type { BurstResult } from '../phases/burst';
import type { ConnectionsResult } from '../phases/connections';
import { renderReportsSection, type ReportsResult } from '../phases/reports';
import { describeWebhookCheck, TARGET_LABELS, type Measurement, type OutboxDrain, type TargetName, type TargetResult } from '../phases/throughput';
import type { ProfileSummary } from './profile';
import { median } from './stats';

export interface RunSummary {
  date: string;
  command: string;
  machine: string;
  options: { rate: number; durationS: number; pairs: number; rounds: number; ramp: boolean; database: string };
  throughput?: TargetResult[];
  burst?: BurstResult | { error: string };
  connections?: (ConnectionsResult | { target: string; error: string })[];
  /** One per profiled target (ours, hooked, hookedsplit). */
  profiles?: (ProfileSummary & { target: string })[];
  reports?: ReportsResult | { error: string };
  notes: string[];
}

const num = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const ms = (n: number) => num(n, n < 10 ? 2 : 1);
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const mark = (ok: boolean) => (ok ? 'yes' : '**NO**');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Per-target medians over the rounds. */
export interface TargetMedians {
  name: TargetName;
  description: string;
  rounds: number;
  deliveredRate: number;
  e2eP50: number;
  e2eP95: number;
  e2eP99: number;
  e2eMax: number;
  ackP50: number;
  ackP99: number;
  lost: number;
  duplicated: number;
  cpuUsPerMsg: number;
  dbCpuUsPerMsg: number;
  generatorCpuUsPerMsg: number;
  rssMiB: number;
  maxSustained: number;
  maxSustainedRounds: number[];
  generatorAboveServer: boolean;
}

export function targetMedians(t: TargetResult): TargetMedians {
  const fixed = t.rounds.map((r) => r.fixed).filter((f): f is Measurement => f !== undefined);
  const m = (pick: (f: Measurement) => number) => median(fixed.map(pick));
  const perMsg = (cpuMs: number, f: Measurement) => (f.delivered ? (cpuMs * 1000) / f.delivered : NaN);
  const maxSustainedRounds = t.rounds.map((r) => r.ramp?.maxSustained ?? NaN);
  return {
    name: t.name,
    description: t.description,
    rounds: fixed.length,
    deliveredRate: m((f) => f.deliveredRate),
    e2eP50: m((f) => f.e2e.p50),
    e2eP95: m((f) => f.e2e.p95),
    e2eP99: m((f) => f.e2e.p99),
    e2eMax: m((f) => f.e2e.max),
    ackP50: m((f) => f.ack.p50),
    ackP99: m((f) => f.ack.p99),
    lost: fixed.reduce((s, f) => s + f.lost + f.ackErrors, 0),
    duplicated: fixed.reduce((s, f) => s + f.duplicated + f.misrouted, 0),
    cpuUsPerMsg: m((f) => perMsg(f.serverCpuMs, f)),
    dbCpuUsPerMsg: m((f) => perMsg(f.dbCpuMs, f)),
    generatorCpuUsPerMsg: m((f) => perMsg(f.generatorCpuMs, f)),
    rssMiB: m((f) => f.serverRssKiB / 1024),
    maxSustained: median(maxSustainedRounds),
    maxSustainedRounds,
    generatorAboveServer: fixed.some((f) => f.generatorCpuMs > f.serverCpuMs),
  };
}

function throughputSection(summary: RunSummary, targets: TargetResult[]): string {
  const { rate, durationS, pairs, rounds } = summary.options;
  const medians = targets.filter((t) => t.rounds.some((r) => r.fixed)).map(targetMedians);
  const out: string[] = [];
  out.push(`### Messages: ${pairs} customer/agent pairs, ${rate} msg/s for ${durationS} s (median of ${rounds} round${rounds > 1 ? 's' : ''})`);
  out.push('');
  out.push(
    table(
      ['server', 'delivered msg/s', 'e2e p50 ms', 'p95', 'p99', 'max', 'ack p50 ms', 'ack p99', 'lost', 'dup', 'server CPU µs/msg', 'postgres CPU µs/msg', 'generator CPU µs/msg', 'RSS MiB', 'max sustained msg/s'],
      medians.map((m) => [
        m.description,
        num(m.deliveredRate),
        ms(m.e2eP50),
        ms(m.e2eP95),
        ms(m.e2eP99),
        ms(m.e2eMax),
        ms(m.ackP50),
        ms(m.ackP99),
        String(m.lost),
        String(m.duplicated),
        num(m.cpuUsPerMsg, 1),
        num(m.dbCpuUsPerMsg, 1),
        num(m.generatorCpuUsPerMsg, 1) + (m.generatorAboveServer ? ' ⚠' : ''),
        num(m.rssMiB, 1),
        num(m.maxSustained),
      ]),
    ),
  );
  out.push('');
  out.push(
    '`lost` counts messages not delivered by the end of the drain (a few seconds after the last send) plus error acks; `dup` counts duplicates plus misrouted. ' +
      '"max sustained" is the highest rate (ramp) with p99 < 100 ms and nothing lost. ' +
      'postgres CPU is every `postgres` process on the machine (the references and, with DATABASE_URL, ours); with the embedded engine our database work is inside "server CPU". ' +
      '⚠ marks a round where the generator used more CPU than the server: expected against the bare relay, whose work per message ' +
      '(one frame in, an ack and a push out) mirrors the generator\'s own (one frame out, two in); against our server it must not happen.',
  );
  if (summary.options.ramp && medians.length > 0) {
    out.push('');
    out.push(
      table(
        ['server', ...Array.from({ length: rounds }, (_, i) => `round ${i + 1}`), 'median'],
        medians.map((m) => [m.description, ...m.maxSustainedRounds.map((v) => num(v)), num(m.maxSustained)]),
      ),
    );
  }
  const ours = medians.find((m) => m.name === 'ours');
  const refs = medians.filter((m) => m.name === 'bare' || m.name === 'insert');
  const hooked = medians.filter((m) => m.name === 'hooked' || m.name === 'hookedsplit');
  if (ours && hooked.length) {
    const byName = new Map(targets.map((t) => [t.name, t]));
    const fixedOf = (name: TargetName) => (byName.get(name)?.rounds ?? []).map((r) => r.fixed).filter((f): f is Measurement => f !== undefined);
    const perMsg = (name: TargetName, pick: (f: Measurement) => number | undefined) =>
      median(fixedOf(name).map((f) => (f.delivered && pick(f) !== undefined ? ((pick(f) as number) * 1000) / f.delivered : NaN)));
    const outboxOf = (name: TargetName) => fixedOf(name).map((f) => f.outbox).filter((o): o is OutboxDrain => o !== undefined);
    const rampDrains = (name: TargetName) => (byName.get(name)?.rounds ?? []).flatMap((r) => r.ramp?.steps ?? []).map((s) => s.outbox).filter((o): o is OutboxDrain => o !== undefined);
    const seconds = (values: number[]) => (values.length ? (Math.max(...values) / 1000).toFixed(1) : '–');
    const columns = hooked.flatMap((h) => [h.name === 'hooked' ? 'one subscription, sent by the same process' : 'one subscription, sent by a dispatch-only instance (nice 19)', 'ratio']);
    const row = (label: string, base: number, value: (h: TargetMedians) => number, digits = 1) => [label, num(base, digits), ...hooked.flatMap((h) => [num(value(h), digits), ratio(value(h), base)])];
    const info = (label: string, value: (h: TargetMedians) => string) => [label, '–', ...hooked.flatMap((h) => [value(h), ''])];
    out.push('');
    out.push('The outbox (one `message.created` webhook subscription, every message also written to the outbox and delivered to a receiver in its own process under nice 19) / no subscription:');
    out.push('');
    out.push(
      table(
        ['', 'no subscription', ...columns],
        [
          row('max sustained msg/s', ours.maxSustained, (h) => h.maxSustained, 0),
          row('message instance CPU µs/msg', ours.cpuUsPerMsg, (h) => h.cpuUsPerMsg),
          info('dispatch-only instance CPU µs/msg (run + drain)', (h) => num(perMsg(h.name, (f) => f.outbox?.dispatcherCpuMs), 1)),
          row('postgres CPU µs/msg (the run)', ours.dbCpuUsPerMsg, (h) => h.dbCpuUsPerMsg),
          row('postgres CPU µs/msg (run + outbox drain)', ours.dbCpuUsPerMsg, (h) => perMsg(h.name, (f) => f.dbCpuMs + (f.outbox?.dbCpuMs ?? 0))),
          info("… of it, the dispatch-only instance's backends (claims, records)", (h) => num(perMsg(h.name, (f) => f.outbox?.dispatcherDbCpuMs), 1)),
          row(`e2e p99 ms at ${rate} msg/s`, ours.e2eP99, (h) => h.e2eP99),
          info(`deliveries pending at the end of the ${rate} msg/s run (median)`, (h) => num(median(outboxOf(h.name).map((o) => o.pendingAtEnd)))),
          info('drained after it, s (median / longest)', (h) => {
            const d = outboxOf(h.name).map((o) => o.drainMs);
            return d.length ? `${(median(d) / 1000).toFixed(1)} / ${seconds(d)}` : '–';
          }),
          info('longest drain after a ramp step, s', (h) => seconds(rampDrains(h.name).map((o) => o.drainMs))),
          info('webhook calls received / events (check)', (h) => {
            const c = byName.get(h.name)?.webhook;
            return c ? `${c.receiver.calls} / ${c.deliveries} (${c.ok ? 'ok' : '**FAILED**'})` : '–';
          }),
        ],
      ),
    );
    for (const h of hooked) {
      const c = byName.get(h.name)?.webhook;
      if (c) out.push('', `${h.name}: ${describeWebhookCheck(c)}.`);
    }
  }
  if (ours && refs.length) {
    out.push('');
    out.push('Ours / reference:');
    out.push('');
    out.push(
      table(
        ['', ...refs.map((r) => `vs ${r.name === 'bare' ? 'bare relay' : 'relay + INSERT'}`)],
        [
          ['max sustained throughput', ...refs.map((r) => ratio(ours.maxSustained, r.maxSustained))],
          ['server CPU per message', ...refs.map((r) => ratio(ours.cpuUsPerMsg, r.cpuUsPerMsg))],
          ['server + postgres CPU per message', ...refs.map((r) => ratio(ours.cpuUsPerMsg + ours.dbCpuUsPerMsg, r.cpuUsPerMsg + r.dbCpuUsPerMsg))],
          [`e2e p99 at ${rate} msg/s`, ...refs.map((r) => ratio(ours.e2eP99, r.e2eP99))],
        ],
      ),
    );
  }
  for (const t of targets) {
    if (t.error) out.push(`\n${t.description}: **failed**: ${t.error.split('\n')[0]}`);
    t.rounds.forEach((r, i) => r.error && out.push(`\n${t.description}, round ${i + 1}: **failed**: ${r.error.split('\n')[0]}`));
  }
  return out.join('\n');
}

function burstSection(b: BurstResult | { error: string }): string {
  if ('error' in b) return `### Allocation burst\n\n**failed**: ${b.error}`;
  return [
    `### Allocation burst: ${b.customers} customers within ${b.spreadMs} ms, ${b.agents} agents × capacity ${b.capacity}`,
    '',
    table(
      ['all active or queued after', 'allocations/s', 'active', 'queued', 'errors', 'response p50 / p99 / max ms', 'active (statuses)', 'queued (list)', 'max active/agent', 'capacity violations', 'server CPU ms'],
      [
        [
          `${num(b.totalMs)} ms`,
          num(b.allocationsPerS),
          String(b.active),
          String(b.queued),
          String(b.errors),
          `${ms(b.responseLatency.p50)} / ${ms(b.responseLatency.p99)} / ${ms(b.responseLatency.max)}`,
          String(b.activeByStatuses),
          String(b.queuedByList),
          String(b.maxActivePerAgent),
          String(b.violations),
          num(b.serverCpuMs),
        ],
      ],
    ),
    ...(b.errors ? ['', `errors: ${JSON.stringify(b.errorSamples).slice(0, 400)}`] : []),
  ].join('\n');
}

function connectionsSection(results: (ConnectionsResult | { target: string; error: string })[]): string {
  const ok = results.filter((c): c is ConnectionsResult => !('error' in c));
  const out: string[] = [];
  const first = ok[0];
  out.push(
    first
      ? `### Idle connections: ${first.sockets} authenticated sockets (${first.agentSockets} agent sockets of ${first.agents} agents, ${first.customerSockets} customers) from ${first.holders} processes`
      : '### Idle connections',
  );
  if (ok.length) {
    out.push('');
    out.push(
      table(
        ['server', 'connected', 'failures', 'still open at the end', 'connect time s', 'connects/s', 'RSS before MiB', 'RSS after MiB', 'KiB per socket', 'server CPU ms'],
        ok.map((c) => [
          c.target === 'ours' ? TARGET_LABELS.ours : TARGET_LABELS.bare,
          String(c.connected),
          String(c.failures),
          String(c.stillOpen),
          num(c.connectMs / 1000, 1),
          num(c.connectRate),
          num(c.rssBeforeKiB / 1024, 1),
          num(c.rssAfterKiB / 1024, 1),
          num(c.perSocketKiB, 1),
          num(c.serverCpuMs),
        ]),
      ),
    );
    out.push('', 'KiB per socket: growth of the server\'s RSS, each side read after a forced full garbage collection (node --expose-gc).');
    for (const c of ok) if (c.failures) out.push('', `${c.target} errors: ${JSON.stringify(c.errors).slice(0, 400)}`);
  }
  for (const c of results) if ('error' in c) out.push('', `${c.target}: **failed**: ${c.error.split('\n')[0]}`);
  return out.join('\n');
}

function profileSection(p: ProfileSummary & { target: string }): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  return [
    `### Where our server's CPU goes (${p.target}; V8 profile, ${p.windowed ? 'during the measured message runs' : 'whole server run, setup included'}: ${num(p.totalMs / 1000, 1)} s of samples)`,
    '',
    `Profile: \`${p.file}\` (open in Chrome DevTools → Performance, or speedscope). Self time, idle excluded.`,
    '',
    table(['area', 'self time', 'share'], p.byArea.slice(0, 15).map((a) => [a.area, `${num(a.ms)} ms`, pct(a.share)])),
    '',
    table(['function', 'area', 'self time', 'share'], p.byFunction.slice(0, 20).map((f) => [`\`${f.name}\``, f.area, `${num(f.ms)} ms`, pct(f.share)])),
  ].join('\n');
}

/** The targets, each judged on this run's numbers. */
function targetsSection(summary: RunSummary): string {
  const rows: string[][] = [];
  const medians = (summary.throughput ?? []).filter((t) => t.rounds.some((r) => r.fixed)).map(targetMedians);
  const ours = medians.find((m) => m.name === 'ours');
  const insert = medians.find((m) => m.name === 'insert');
  if (ours) {
    if (insert && summary.options.ramp) {
      rows.push(['max sustained ≥ relay + INSERT', `${num(ours.maxSustained)} vs ${num(insert.maxSustained)} msg/s`, mark(ours.maxSustained >= insert.maxSustained)]);
    }
    if (summary.options.rate === 1000) {
      rows.push(['p50 ≤ 3 ms at 1,000 msg/s', `${ms(ours.e2eP50)} ms`, mark(ours.e2eP50 <= 3)]);
      rows.push(['p99 ≤ 15 ms at 1,000 msg/s', `${ms(ours.e2eP99)} ms`, mark(ours.e2eP99 <= 15)]);
    }
    rows.push(['0 lost, 0 duplicated', `${ours.lost} lost, ${ours.duplicated} dup`, mark(ours.lost === 0 && ours.duplicated === 0)]);
    rows.push(['generator CPU < server CPU', `${num(ours.generatorCpuUsPerMsg, 1)} vs ${num(ours.cpuUsPerMsg, 1)} µs/msg`, mark(!ours.generatorAboveServer)]);
    if (insert) {
      rows.push(['CPU/msg ≤ 2× relay + INSERT', `${num(ours.cpuUsPerMsg, 1)} vs ${num(insert.cpuUsPerMsg, 1)} µs`, mark(ours.cpuUsPerMsg <= 2 * insert.cpuUsPerMsg)]);
    }
  }
  const c = summary.connections?.find((r): r is ConnectionsResult => r.target === 'ours' && !('error' in r));
  if (c) {
    rows.push(['idle sockets ≤ 30 KiB each, 0 failures', `${num(c.perSocketKiB, 1)} KiB, ${c.failures} failures (${c.sockets} sockets)`, mark(c.perSocketKiB <= 30 && c.failures === 0)]);
  }
  const b = summary.burst;
  if (b && !('error' in b)) {
    rows.push(['burst done within 2 s, 0 violations', `${num(b.totalMs)} ms, ${b.violations} violations, ${b.errors} errors`, mark(b.totalMs <= 2000 && b.violations === 0 && b.errors === 0)]);
  }
  return rows.length ? ['### Targets (issue 6)', '', table(['target', 'measured', 'met'], rows)].join('\n') : '';
}

export function renderReport(summary: RunSummary): string {
  const { options } = summary;
  const parts = [
    `## Results of ${summary.date}`,
    '',
    `- command: \`${summary.command}\``,
    `- machine: ${summary.machine}`,
    `- our server's database: ${options.database}; reference INSERT relay: PostgreSQL`,
    '',
  ];
  if (summary.throughput) parts.push(throughputSection(summary, summary.throughput), '');
  if (summary.burst) parts.push(burstSection(summary.burst), '');
  if (summary.connections) parts.push(connectionsSection(summary.connections), '');
  for (const profile of summary.profiles ?? []) parts.push(profileSection(profile), '');
  if (summary.reports) parts.push(renderReportsSection(summary.reports), '');
  const targets = targetsSection(summary);
  if (targets) parts.push(targets, '');
  if (summary.notes.length) parts.push(...summary.notes.map((n) => `- ${n}`), '');
  return parts.join('\n');
}

const START = '<!-- bench:results:start (written by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

const SKELETON = `# Benchmarks

How fast a message reaches the other side, and how many conversations one small server carries
(issue 6). Produced by \`npm run bench\` (test/bench/); the section between the markers below is
rewritten by every full run, everything else in this file is kept.

${START}
${END}
`;

/** Replaces the generated section of BENCHMARKS.md (creating the file when missing). */
export function writeBenchmarksFile(file: string, report: string): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : SKELETON;
  if (!text.includes(START) || !text.includes(END)) text = `${text.trimEnd()}\n\n${START}\n${END}\n`;
  const before = text.slice(0, text.indexOf(START) + START.length);
  const after = text.slice(text.indexOf(END));
  writeFileSync(file, `${before}\n${report.trim()}\n${after}`);
}

/**
 * Replaces (or adds, after the main results) the section `key` of BENCHMARKS.md: the growth
 * phases each own one, so running one phase never erases another's figures.
 */
export function writeBenchmarksSection(file: string, key: string, markdown: string): void {
  const start = `<!-- bench:${key}:start (written by npm run bench -- --only=${key}; edit outside these markers) -->`;
  const end = `<!-- bench:${key}:end -->`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : SKELETON;
  const at = text.indexOf(`<!-- bench:${key}:start`);
  const stop = text.indexOf(end);
  if (at >= 0 && stop > at) {
    text = `${text.slice(0, at)}${start}\n${markdown.trim()}\n${text.slice(stop)}`;
  } else {
    const anchor = text.includes(END) ? text.lastIndexOf('<!-- bench:', text.length) : -1;
    // After the last generated section (main results or another growth phase).
    const afterLast = anchor >= 0 ? text.indexOf('-->', anchor) + 3 : text.length;
    text = `${text.slice(0, afterLast)}\n\n${start}\n${markdown.trim()}\n${end}${text.slice(afterLast)}`;
  }
  writeFileSync(file, text);
}

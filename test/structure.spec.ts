/*
 * The layout rules of the README's "Layout" section, checked on the source text:
 * - SQL runs only in *.repository.ts files (and libs/database, migrations): no `.query(` and no
 *   TypeORM query API elsewhere;
 * - http/ and realtime/ never import each other (shared app-level code lives in platform/);
 * - libraries never import the app, socket.io or the gateways, and depend on each other without cycles;
 * - every table is written (INSERT / UPDATE / DELETE) by exactly one library, its owner below.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, resolve, dirname } from 'path';

const ROOT = resolve(__dirname, '..');

/** The one library that writes each table. A new table needs an owner here (and in the README). */
export const TABLE_OWNERS: Record<string, string> = {
  admins: 'auth',
  customers: 'auth',
  agents: 'agents',
  queues: 'queues',
  queue_members: 'queues',
  agent_presence: 'presence',
  agent_state_history: 'presence',
  pause_reasons: 'presence',
  conversations: 'conversations',
  messages: 'conversations',
  conversation_transfers: 'conversations',
  // Kept only by a trigger on conversations (migration AgentHeldSlots): read by the load rules.
  agent_held_slots: 'conversations',
  // Kept by triggers on conversations (migration AgentConversationCounts); read by the agents' stats.
  agent_conversation_counts: 'conversations',
  allocation_decisions: 'allocation',
  api_keys: 'auth',
  // The transactional outbox sits at the bottom of the graph, so every library's transaction can write it.
  outbox_events: 'database',
  webhook_deliveries: 'database',
  webhooks: 'integrations',
  channel_customers: 'integrations',
  channel_messages: 'integrations',
  conversation_report_totals: 'statistics',
  conversation_report_slots: 'statistics',
  conversation_report_queues: 'statistics',
  conversation_report_watermark: 'statistics',
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const rel = (path: string) => relative(ROOT, path).split('\\').join('/');
const isSpec = (path: string) => /\.(e2e-)?spec\.ts$/.test(path);
const isMigration = (path: string) => rel(path).startsWith('libs/database/src/migrations/');

/** Comments removed (block comments, and lines that are comments), so prose cannot look like SQL. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
}

const SOURCES = [...files(join(ROOT, 'apps')), ...files(join(ROOT, 'libs'))].filter((p) => !isSpec(p));

function lines(path: string, pattern: RegExp): string[] {
  return code(path)
    .split('\n')
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => pattern.test(line))
    .map(({ line, i }) => `${rel(path)}:${i + 1}: ${line.trim()}`);
}

/** Where SQL may run. */
function mayRunSql(path: string): boolean {
  return path.endsWith('.repository.ts') || rel(path).startsWith('libs/database/');
}

const DATA_ACCESS = /\.query\(|createQueryBuilder\(|getRepository\(|@InjectRepository\(|\.findOneBy\(|\.findAndCount\(|\.save\(/;

export function sqlOutsideRepositories(sources: string[]): string[] {
  return sources.filter((p) => !mayRunSql(p)).flatMap((p) => lines(p, DATA_ACCESS));
}

function importsOf(path: string): string[] {
  return [...code(path).matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

const APP = 'apps/contact-center/src/';

export function transportCrossImports(sources: string[]): string[] {
  const folder = (path: string) => rel(path).slice(APP.length).split('/')[0];
  return sources
    .filter((p) => rel(p).startsWith(APP) && ['http', 'realtime'].includes(folder(p)))
    .flatMap((p) =>
      importsOf(p)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => ({ spec, target: rel(resolve(dirname(p), spec)) }))
        .filter(({ target }) => target.startsWith(APP) && target.slice(APP.length).split('/')[0] !== folder(p))
        .filter(({ target }) => ['http', 'realtime'].includes(target.slice(APP.length).split('/')[0]))
        .map(({ spec }) => `${rel(p)} imports ${spec}`),
    );
}

const libOf = (path: string) => (rel(path).startsWith('libs/') ? rel(path).split('/')[1] : null);

/** Writes of each table, by library (or `app` for code in apps/), from the SQL text. */
export function tableWriters(sources: string[]): Map<string, Set<string>> {
  const writers = new Map<string, Set<string>>();
  const pattern = /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)\b/g;
  for (const path of sources.filter((p) => !isMigration(p))) {
    for (const m of code(path).matchAll(pattern)) {
      const table = m[1];
      if (!(table in TABLE_OWNERS)) continue;
      const writer = libOf(path) ?? 'app';
      writers.set(table, new Set([...(writers.get(table) ?? []), writer]));
    }
  }
  return writers;
}

export function ownershipViolations(sources: string[]): string[] {
  const out: string[] = [];
  for (const [table, writers] of tableWriters(sources)) {
    for (const writer of writers) if (writer !== TABLE_OWNERS[table]) out.push(`${table} is written by ${writer}, but its owner is ${TABLE_OWNERS[table]}`);
  }
  // A table name built at run time would escape the check above.
  for (const path of sources.filter((p) => !isMigration(p))) out.push(...lines(path, /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\$\{/).map((l) => `dynamic table name: ${l}`));
  return out;
}

function libraryGraph(sources: string[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const path of sources) {
    const lib = libOf(path);
    if (!lib) continue;
    const deps = graph.get(lib) ?? new Set<string>();
    for (const spec of importsOf(path)) {
      const m = /^@cc\/([a-z-]+)/.exec(spec);
      if (m && m[1] !== lib) deps.add(m[1]);
    }
    graph.set(lib, deps);
  }
  return graph;
}

export function libraryCycles(sources: string[]): string[] {
  const graph = libraryGraph(sources);
  const cycles: string[] = [];
  const visit = (lib: string, path: string[]) => {
    if (path.includes(lib)) {
      cycles.push([...path.slice(path.indexOf(lib)), lib].join(' -> '));
      return;
    }
    for (const dep of graph.get(lib) ?? []) visit(dep, [...path, lib]);
  };
  for (const lib of graph.keys()) visit(lib, []);
  return [...new Set(cycles)];
}

describe('structure', () => {
  it('runs SQL only in *.repository.ts files, libs/database and migrations', () => {
    expect(sqlOutsideRepositories(SOURCES)).toEqual([]);
  });

  it('keeps http/ and realtime/ from importing each other', () => {
    expect(transportCrossImports(SOURCES)).toEqual([]);
  });

  it('has every table written by exactly one library, its owner', () => {
    expect(ownershipViolations(SOURCES)).toEqual([]);
    const migrations = files(join(ROOT, 'libs/database/src/migrations')).map((p) => readFileSync(p, 'utf8')).join('\n');
    const tables = [...migrations.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?([a-z_]+)/g)].map((m) => m[1]);
    expect(tables.filter((t) => !(t in TABLE_OWNERS))).toEqual([]);
  });

  it('keeps libraries free of the app and of socket.io, and their dependencies acyclic', () => {
    const offending = SOURCES.filter((p) => libOf(p)).flatMap((p) =>
      importsOf(p)
        .filter((spec) => spec === 'socket.io' || spec.startsWith('@nestjs/websockets') || spec.includes('apps/') || /^\.\.\/\.\.\/\.\.\//.test(spec))
        .map((spec) => `${rel(p)} imports ${spec}`),
    );
    expect(offending).toEqual([]);
    expect(libraryCycles(SOURCES)).toEqual([]);
  });

  it('would notice a violation (the checks are not vacuous)', () => {
    const probe = join(ROOT, 'test/fixtures/structure-violation.ts');
    expect(sqlOutsideRepositories([probe])).toHaveLength(1);
    expect([...tableWriters([probe]).get('conversations')!]).toEqual(['app']);
  });
});

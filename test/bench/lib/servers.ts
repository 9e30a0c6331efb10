/** Starting the servers under test: the two reference relays and our contact-center server. */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { ContactCenterApi, Session } from './api';
import { BUILD_DIR, GC_ON_SIGNAL, readJsonLine, spawnBenchScript, spawnNodeLogged, stopChild } from './children';
import { sleep } from './concurrency';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
/** Where `nest build contact-center` puts main.js: the documented place first, then where tsc's rootDir may move it. */
const OUR_ENTRIES = ['main.js', 'src/main.js', 'apps/contact-center/src/main.js'].map((rel) => join(REPO_ROOT, 'dist', 'apps', 'contact-center', rel));
export const ourEntry = (): string => OUR_ENTRIES.find((file) => existsSync(file)) ?? OUR_ENTRIES[0];
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface ServerHandle {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export type ReferenceKind = 'bare' | 'insert';

/** Starts a reference relay; `gcOnSignal` lets collectGarbage() run a full GC in it. */
export async function startReference(kind: ReferenceKind, gcOnSignal = false): Promise<ServerHandle> {
  const env = { DATABASE_URL: process.env.DATABASE_URL || DEFAULT_POSTGRES_URL, ...(gcOnSignal ? GC_ON_SIGNAL.env : {}) };
  const child = spawnBenchScript(`reference/${kind}-relay.ts`, env, gcOnSignal ? GC_ON_SIGNAL.nodeArgs : []);
  try {
    const { port } = await readJsonLine<{ port: number }>(child, 20_000);
    return { name: `${kind}-relay`, url: `http://127.0.0.1:${port}`, pid: child.pid as number, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw new Error(`${kind}-relay did not start: ${(error as Error).message}`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True when dist/apps/contact-center/main.js is missing or older than a source file of apps/ or libs/. */
export function ourBuildIsStale(): boolean {
  const entry = ourEntry();
  if (!existsSync(entry)) return true;
  const built = statSync(entry).mtimeMs;
  const newer = (dir: string): boolean =>
    existsSync(dir) &&
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name !== 'node_modules' && newer(full);
      return /\.(ts|json)$/.test(entry.name) && statSync(full).mtimeMs > built;
    });
  return newer(join(REPO_ROOT, 'apps')) || newer(join(REPO_ROOT, 'libs')) || statSync(join(REPO_ROOT, 'tsconfig.json')).mtimeMs > built;
}

/** `npx nest build contact-center`, output to a log file; throws with its tail on failure. */
export async function buildOurServer(timeoutMs = 300_000): Promise<void> {
  const logFile = logPath('nest-build');
  const code = await new Promise<number | null>((resolve) => {
    const out = [] as Buffer[];
    const child = spawn('npx', ['nest', 'build', 'contact-center'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      writeFileSync(logFile, Buffer.concat(out));
      resolve(exitCode);
    });
  });
  if (code !== 0 || !existsSync(ourEntry())) throw new Error(`nest build contact-center failed (exit ${code}):\n${tail(logFile, 30)}`);
}

/** Where our server keeps its data: a throwaway embedded directory, or a throwaway PostgreSQL database. */
interface Storage {
  env: Record<string, string>;
  description: string;
  dispose(): Promise<void>;
}

async function embeddedStorage(): Promise<Storage> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-'));
  return { env: { DATA_DIR: dir }, description: 'PGlite', dispose: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh database on the server of `url` (dropped afterwards); the given database itself if we may not create one. */
async function postgresStorage(url: string): Promise<Storage> {
  const name = `cc_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: url });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    process.stderr.write(`bench: cannot create a scratch database (${(error as Error).message}); using ${redactUrl(url)} as it is\n`);
    return { env: { DATABASE_URL: url }, description: 'PostgreSQL', dispose: async () => undefined };
  }
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: scratch.toString() },
    description: 'PostgreSQL',
    dispose: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}

export interface OurServer extends ServerHandle {
  api: ContactCenterApi;
  admin: Session;
  storage: string;
  logFile: string;
  /** The PostgreSQL database this instance uses (undefined on the embedded engine): for SQL seeding and a second instance. */
  databaseUrl?: string;
  /** The JWT secret it signs with: the growth phases mint tokens for SQL-seeded users (lib/tokens.ts). */
  jwtSecret: string;
}

export interface OurServerOptions {
  /** `embedded`, or a PostgreSQL URL. */
  database: string;
  label: string;
  /** Write a V8 CPU profile of the whole server run into this directory (node --cpu-prof). */
  profileDir?: string;
  /** Let collectGarbage() run a full GC in the server (node --expose-gc). */
  gcOnSignal?: boolean;
  /** Socket.IO Redis adapter (several instances). */
  redisUrl?: string;
  /** Join another instance: its database (used as it is, not dropped) and its JWT secret. */
  joinOf?: OurServer;
  /** Extra environment for the server. */
  env?: Record<string, string | undefined>;
  /** Run it under `nice -n <niceness>` (a dispatch-only instance that must not take the message path's cores). */
  niceness?: number;
}

/** Extra node flags for our server only (BENCH_OURS_NODE_ARGS, space-separated), to A/B runtime settings such as GC sizes. */
function ourNodeArgs(): string[] {
  return (process.env.BENCH_OURS_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/** Starts `node dist/apps/contact-center/main.js` on a free port, waits for health, logs the admin in. */
export async function startOurServer({ database, label, profileDir, gcOnSignal, redisUrl, joinOf, env, niceness }: OurServerOptions): Promise<OurServer> {
  const entry = ourEntry();
  if (!existsSync(entry)) throw new Error(`${entry} does not exist (build with: npx nest build contact-center)`);
  if (joinOf && !joinOf.databaseUrl) throw new Error('a second instance needs PostgreSQL (the embedded engine is one process)');
  const storage: Storage = joinOf
    ? { env: { DATABASE_URL: joinOf.databaseUrl as string }, description: joinOf.storage, dispose: async () => undefined }
    : database === 'embedded'
      ? await embeddedStorage()
      : await postgresStorage(database);
  const port = await freePort();
  const jwtSecret = joinOf?.jwtSecret ?? randomBytes(24).toString('hex');
  const adminCredentials = { email: 'bench-admin@bench.test', password: randomBytes(12).toString('hex') };
  const logFile = logPath(`server-${label}`);
  writeFileSync(logFile, '');
  const child = spawnNodeLogged(
    entry,
    logFile,
    {
      NODE_ENV: 'production',
      PORT: String(port),
      JWT_SECRET: jwtSecret,
      ADMIN_EMAIL: adminCredentials.email,
      ADMIN_PASSWORD: adminCredentials.password,
      MESSAGE_RATE_LIMIT: '0',
      HTTP_RATE_LIMIT: '0',
      // Setup creates hundreds of agents; password hashing cost is not what this bench measures.
      BCRYPT_ROUNDS: '4',
      PRESENCE_GRACE_SECONDS: '600',
      REDIS_URL: redisUrl,
      DATABASE_URL: undefined,
      DATA_DIR: undefined,
      BENCH_EXIT_ON_SIGTERM: profileDir ? '1' : undefined,
      ...(gcOnSignal ? GC_ON_SIGNAL.env : {}),
      ...storage.env,
      ...env,
    },
    REPO_ROOT,
    [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(gcOnSignal ? GC_ON_SIGNAL.nodeArgs : []), ...ourNodeArgs()],
    niceness,
  );
  const url = `http://127.0.0.1:${port}`;
  const api = new ContactCenterApi(url);
  const stop = async () => {
    api.close();
    await stopChild(child, profileDir ? 30_000 : 5000);
    await storage.dispose();
  };
  try {
    const deadline = Date.now() + 90_000;
    while (!(await api.health())) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.signalCode ?? child.exitCode})`);
      if (Date.now() > deadline) throw new Error('GET /api/v1/health did not answer 200 within 90 s');
      await sleep(250);
    }
    // A joining instance finds the admin of the first one (ADMIN_* only seed an empty database).
    const admin = joinOf ? joinOf.admin : await api.login(adminCredentials);
    const databaseUrl = storage.env.DATABASE_URL;
    return { name: 'ours', url, pid: child.pid as number, api, admin, storage: storage.description, logFile, stop, databaseUrl, jwtSecret };
  } catch (error) {
    await stop();
    throw new Error(`our server did not start: ${(error as Error).message}\n--- ${logFile} (tail) ---\n${tail(logFile, 30)}`);
  }
}

function logPath(name: string): string {
  const dir = join(BUILD_DIR, 'logs');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.log`);
}

function tail(file: string, lines: number): string {
  try {
    // eslint-disable-next-line no-control-regex
    return readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A database URL fit to print: the password masked; `embedded` spelled out. */
export function redactUrl(url: string): string {
  if (url === 'embedded') return 'embedded (PGlite)';
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

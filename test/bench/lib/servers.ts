/** Starting the servers under test: the two reference relays and our contact-center server. */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { ContactCenterApi, Session } from './api';
import { BUILD_DIR, readJsonLine, spawnBenchScript, spawnNodeLogged, stopChild } from './children';
import { sleep } from './concurrency';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const OUR_ENTRY = join(REPO_ROOT, 'dist', 'apps', 'contact-center', 'main.js');
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface ServerHandle {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export type ReferenceKind = 'bare' | 'insert';

export async function startReference(kind: ReferenceKind): Promise<ServerHandle> {
  const child = spawnBenchScript(`reference/${kind}-relay.ts`, { DATABASE_URL: process.env.DATABASE_URL || DEFAULT_POSTGRES_URL });
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
  if (code !== 0 || !existsSync(OUR_ENTRY)) throw new Error(`nest build contact-center failed (exit ${code}):\n${tail(logFile, 30)}`);
}

/** Where our server keeps its data: a throwaway embedded directory, or a throwaway PostgreSQL database. */
interface Storage {
  env: Record<string, string>;
  description: string;
  dispose(): Promise<void>;
}

async function embeddedStorage(): Promise<Storage> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-'));
  return { env: { DATA_DIR: dir }, description: 'embedded (PGlite)', dispose: async () => rmSync(dir, { recursive: true, force: true }) };
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
    process.stderr.write(`bench: cannot create a scratch database (${(error as Error).message}); using ${redact(url)} as it is\n`);
    return { env: { DATABASE_URL: url }, description: `PostgreSQL ${redact(url)}`, dispose: async () => undefined };
  }
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: scratch.toString() },
    description: `PostgreSQL (scratch database on ${redact(url)})`,
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
}

export interface OurServerOptions {
  /** `embedded`, or a PostgreSQL URL. */
  database: string;
  label: string;
}

/** Starts `node dist/apps/contact-center/main.js` on a free port, waits for health, logs the admin in. */
export async function startOurServer({ database, label }: OurServerOptions): Promise<OurServer> {
  if (!existsSync(OUR_ENTRY)) throw new Error(`${OUR_ENTRY} does not exist (build with: npx nest build contact-center)`);
  const storage = database === 'embedded' ? await embeddedStorage() : await postgresStorage(database);
  const port = await freePort();
  const adminCredentials = { email: 'bench-admin@bench.test', password: randomBytes(12).toString('hex') };
  const logFile = logPath(`server-${label}`);
  writeFileSync(logFile, '');
  const child = spawnNodeLogged(
    OUR_ENTRY,
    logFile,
    {
      NODE_ENV: 'production',
      PORT: String(port),
      JWT_SECRET: randomBytes(24).toString('hex'),
      ADMIN_EMAIL: adminCredentials.email,
      ADMIN_PASSWORD: adminCredentials.password,
      MESSAGE_RATE_LIMIT: '0',
      HTTP_RATE_LIMIT: '0',
      // Setup creates hundreds of agents; password hashing cost is not what this bench measures.
      BCRYPT_ROUNDS: '4',
      PRESENCE_GRACE_SECONDS: '600',
      REDIS_URL: undefined,
      DATABASE_URL: undefined,
      DATA_DIR: undefined,
      ...storage.env,
    },
    REPO_ROOT,
  );
  const url = `http://127.0.0.1:${port}`;
  const api = new ContactCenterApi(url);
  const stop = async () => {
    api.close();
    await stopChild(child, 5000);
    await storage.dispose();
  };
  try {
    const deadline = Date.now() + 90_000;
    while (!(await api.health())) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.signalCode ?? child.exitCode})`);
      if (Date.now() > deadline) throw new Error('GET /api/v1/health did not answer 200 within 90 s');
      await sleep(250);
    }
    const admin = await api.login(adminCredentials);
    return { name: 'ours', url, pid: child.pid as number, api, admin, storage: storage.description, logFile, stop };
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
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

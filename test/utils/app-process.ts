import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { TEST_ADMIN } from './create-test-app';
import { freePort, waitUntil } from './free-port';

const ROOT = join(__dirname, '..', '..');

export interface AppProcessOptions {
  databaseUrl: string;
  redisUrl?: string;
  env?: Record<string, string>;
  /** How long to wait for the server to listen (ts-node compiles the app at start). */
  startTimeoutMs?: number;
}

/**
 * The real server as a child process (ts-node, transpile only: no build step, a few seconds to
 * start), so that a test can SIGKILL it mid-burst like a crashed instance. It uses the same
 * test settings as createTestApp; the JWT secret is shared so tokens work on every instance.
 */
export class AppProcess {
  private child: ChildProcess | null = null;
  private output: string[] = [];

  private constructor(readonly port: number, private readonly options: AppProcessOptions) {}

  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const app = new AppProcess(await freePort(), options);
    await app.restart();
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process wrote (for failure messages). */
  get log(): string {
    return this.output.join('').slice(-4000);
  }

  async restart(): Promise<void> {
    if (this.running) return;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      BCRYPT_ROUNDS: '4',
      JWT_SECRET: 'test-secret-0123456789abcdef',
      ADMIN_EMAIL: TEST_ADMIN.email,
      ADMIN_PASSWORD: TEST_ADMIN.password,
      HTTP_RATE_LIMIT: '0',
      MESSAGE_RATE_LIMIT: '0',
      ALLOCATION_SWEEP_MS: '1000',
      PORT: String(this.port),
      DATABASE_URL: this.options.databaseUrl,
      REDIS_URL: this.options.redisUrl ?? '',
      TS_NODE_TRANSPILE_ONLY: 'true',
      TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
      ...this.options.env,
    };
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/contact-center/src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.output = [];
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, 100);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await waitUntil(
      `app process on ${this.port}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}):\n${this.log}`);
        const res = await fetch(`${this.url}/api/v1/health`).catch(() => null);
        return !!res;
      },
      this.options.startTimeoutMs ?? 60_000,
      200,
    );
  }

  /** SIGKILL: no shutdown hook runs, like a crash or an OOM kill. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    return this.signal(signal);
  }

  /** Sends a signal and waits for the exit; answers the exit code (null when killed by a signal). */
  async signal(signal: NodeJS.Signals, timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    // 'close' rather than 'exit': it comes after the child's output has been read to the end.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no exit ${timeoutMs} ms after ${signal}`)), timeoutMs)));
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.running) await this.kill('SIGKILL');
  }
}

/**
 * Starting and stopping the bench's child processes.
 *
 * Children are plain `node` processes running JavaScript transpiled from test/bench into
 * test/bench/.build (no ts-node inside them: it would cost CPU and tens of MB of RSS that would
 * be charged to the reference servers). Every child gets the watchdog preloaded and is killed
 * when the bench exits, however it exits.
 */
import { ChildProcess, fork, spawn, SpawnOptions } from 'child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import * as ts from 'typescript';

export const BENCH_DIR = join(__dirname, '..');
export const BUILD_DIR = join(BENCH_DIR, '.build');

const live = new Set<ChildProcess>();
let deadline = 0;

/** Transpiles every .ts file under test/bench into test/bench/.build (CommonJS). */
export function buildBenchScripts(): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = join(dir, name);
      if (name.startsWith('.') || name === 'node_modules') return [];
      if (statSync(full).isDirectory()) return walk(full);
      return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
    });
  for (const file of walk(BENCH_DIR)) {
    const out = join(BUILD_DIR, relative(BENCH_DIR, file)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        experimentalDecorators: true,
      },
    });
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, outputText);
  }
}

/** Children exit by themselves once this time (epoch ms) has passed; see watchdog.ts. */
export function setChildDeadline(epochMs: number): void {
  deadline = epochMs;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_DEADLINE: String(deadline), ...extra };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  delete env.TS_NODE_PROJECT;
  return env;
}

const preload = () => ['-r', join(BUILD_DIR, 'lib', 'watchdog.js')];
const script = (rel: string) => join(BUILD_DIR, rel.replace(/\.ts$/, '.js'));

function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Forks a bench script (path relative to test/bench) with an IPC channel. */
export function forkBenchScript(rel: string, env?: Record<string, string | undefined>): ChildProcess {
  return track(fork(script(rel), [], { execArgv: preload(), env: childEnv(env), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

/**
 * `node <args>`, or `nice -n <niceness> node <args>` (nice execs node: the child's pid is node's,
 * so its CPU time and signals work as for a plain child).
 */
function nodeCommand(args: string[], niceness?: number): [string, string[]] {
  return niceness === undefined ? [process.execPath, args] : ['nice', ['-n', String(niceness), process.execPath, ...args]];
}

/** Spawns a bench script with its stdout piped (servers print their port there); `niceness` runs it under `nice -n`. */
export function spawnBenchScript(rel: string, env?: Record<string, string | undefined>, nodeArgs: string[] = [], niceness?: number): ChildProcess {
  const [command, args] = nodeCommand([...nodeArgs, ...preload(), script(rel)], niceness);
  return track(spawn(command, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'inherit'] }));
}

/** Node flags and environment that let `collectGarbage` run a full GC in a child (see watchdog.ts). */
export const GC_ON_SIGNAL = { nodeArgs: ['--expose-gc'], env: { BENCH_GC_ON_SIGNAL: '1' } };

/** Asks a child started with GC_ON_SIGNAL for a full garbage collection, and gives it time to run. */
export async function collectGarbage(pid: number, settleMs = 1000): Promise<void> {
  process.kill(pid, 'SIGWINCH');
  await new Promise((resolve) => setTimeout(resolve, settleMs));
}

/** Spawns any Node.js entry point, its output going to a log file; `niceness` runs it under `nice -n`. */
export function spawnNodeLogged(entry: string, logFile: string, env: Record<string, string | undefined>, cwd: string, nodeArgs: string[] = [], niceness?: number): ChildProcess {
  const fd = openSync(logFile, 'a');
  const options: SpawnOptions = { cwd, env: childEnv(env), stdio: ['ignore', fd, fd] };
  const [command, args] = nodeCommand([...nodeArgs, ...preload(), entry], niceness);
  const child = track(spawn(command, args, options));
  closeSync(fd);
  return child;
}

/** Resolves with the first line a child prints on stdout, parsed as JSON. */
export function readJsonLine<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`no output within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      done();
      try {
        resolve(JSON.parse(buffer.slice(0, newline)) as T);
      } catch (error) {
        reject(error);
      }
    };
    const onExit = (code: number | null) => fail(new Error(`exited with ${code} before printing`));
    const fail = (error: Error) => {
      done();
      reject(error);
    };
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.stdout?.resume(); // keep draining whatever comes next
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills every child still running (synchronous, safe in an exit handler). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** Makes sure no child survives the bench: on normal exit, errors and signals. */
export function installExitHandlers(): void {
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      killAllChildren();
      process.exit(130);
    });
  }
}

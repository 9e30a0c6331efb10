/** Reads CPU time and memory of other processes from /proc (Linux only). */
import { execFileSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { sleep } from './concurrency';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface StatLine {
  comm: string;
  cpuMs: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14 and stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { comm, cpuMs: (ticks * 1000) / ticksPerSecond() };
}

/** User + system CPU time of a process, in milliseconds (10 ms resolution). */
export function cpuTimeMs(pid: number): number {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return stat.cpuMs;
}

/** Resident set size of a process, in KiB (VmRSS), or VmHWM (the peak) when asked. */
export function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]);
}

/** CPU time (ms) of every running process with this command name (e.g. all `postgres` backends), by pid. */
export function cpuTimesOfCommand(comm: string): Map<number, number> {
  const times = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.comm === comm) times.set(Number(entry), stat.cpuMs);
  }
  return times;
}

/** CPU used between two snapshots by the processes alive at the second (those that exited meanwhile are missed). */
function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** CPU used by one process (and by the database server's processes) across an async section. */
export async function measureCpu<T>(pid: number, section: () => Promise<T>): Promise<{ result: T; cpuMs: number; dbCpuMs: number }> {
  const cpu0 = cpuTimeMs(pid);
  const db0 = cpuTimesOfCommand('postgres');
  const result = await section();
  const cpuMs = cpuTimeMs(pid) - cpu0;
  const dbCpuMs = cpuDelta(db0, cpuTimesOfCommand('postgres'));
  return { result, cpuMs, dbCpuMs };
}

/** Waits until a process uses less than `busyShare` of a core over 250 ms windows (or `maxMs` passed). */
export async function waitForIdle(pid: number, maxMs = 15_000, busyShare = 0.1): Promise<void> {
  const until = Date.now() + maxMs;
  let last = cpuTimeMs(pid);
  while (Date.now() < until) {
    await sleep(250);
    const now = cpuTimeMs(pid);
    if (now - last <= 250 * busyShare) return;
    last = now;
  }
}

/** The 1-minute load average (other work on a shared machine skews every number). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export function machineDescription(): { cpus: number; model: string; memoryGiB: number; kernel: string } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cpus = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return { cpus, model, memoryGiB: Math.round(memKiB / 1024 / 1024), kernel };
}

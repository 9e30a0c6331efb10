/**
 * Where our server's CPU goes: a summary of the V8 CPU profile written by `node --cpu-prof`
 * (`npm run bench -- --profile`): self time by package / source area and by function.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** [start, end] in microseconds of the monotonic clock (V8's profile clock and process.hrtime are both CLOCK_MONOTONIC). */
export type TimeWindow = [number, number];

export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface ProfileSummary {
  file: string;
  /** Only samples inside the measured runs were counted (else: the whole server run). */
  windowed: boolean;
  totalMs: number;
  byArea: { area: string; ms: number; share: number }[];
  byFunction: { name: string; area: string; ms: number; share: number }[];
}

/** `node_modules/typeorm/...` → `typeorm`; our own code → `libs/<name>` or `apps/...`; V8 internals by name. */
function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('wasm://')) return 'wasm';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const own = /\/dist\/(apps\/[^/]+|libs\/[^/]+)/.exec(url);
  return own ? own[1] : url.split('/').slice(-2).join('/');
}

/** Self time per profile node, counting only samples inside `windows` (all samples without windows). */
function selfTimes(profile: CpuProfile, windows?: TimeWindow[]): Map<number, number> {
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  return selfUs;
}

export function summarizeProfile(file: string, windows?: TimeWindow[], top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  let selfUs = windows?.length ? selfTimes(profile, windows) : new Map<number, number>();
  const windowed = selfUs.size > 0;
  if (!windowed) selfUs = selfTimes(profile); // no windows, or none matched the profile's clock

  const areas = new Map<string, number>();
  const functions = new Map<string, { area: string; us: number }>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = (byNode.get(id) as ProfileNode).callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    const area = areaOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-1)[0]}:${lineNumber + 1}` : ''}`.trim();
    totalUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = functions.get(name) ?? { area, us: 0 };
    fn.us += us;
    functions.set(name, fn);
  }
  const share = (us: number) => (totalUs ? us / totalUs : 0);
  return {
    file,
    windowed,
    totalMs: totalUs / 1000,
    byArea: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, ms: us / 1000, share: share(us) })),
    byFunction: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { area, us }]) => ({ name, area, ms: us / 1000, share: share(us) })),
  };
}

/** The newest .cpuprofile in a directory, if any. */
export function latestProfile(dir: string): string | undefined {
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
    return files.length ? join(dir, files[files.length - 1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Preloaded (`node -r watchdog.js`) into every process the bench starts, our server included,
 * so that nothing outlives the bench: exit when the parent is gone or the deadline has passed.
 */
const parentPid = process.ppid;
const deadline = Number(process.env.BENCH_DEADLINE ?? 0);

const timer = setInterval(() => {
  if (process.ppid !== parentPid) process.exit(70);
  if (deadline && Date.now() > deadline) process.exit(71);
}, 500);
timer.unref();

// Memory measurements (node --expose-gc): a full garbage collection on SIGWINCH (ignored by default and
// not among the signals Nest's shutdown hooks take), so that RSS is read without garbage.
const gc = (globalThis as { gc?: () => void }).gc;
if (process.env.BENCH_GC_ON_SIGNAL === '1' && gc) process.on('SIGWINCH', () => gc());

// Profiling (node --cpu-prof) writes its file only on a normal exit: turn SIGTERM into one.
if (process.env.BENCH_EXIT_ON_SIGTERM === '1') process.on('SIGTERM', () => setTimeout(() => process.exit(0), 200));

export {};

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

export {};

/*
 * Suites that need a service the run may not have (PostgreSQL for two instances on one
 * database, Redis for the adapter). Without it the suite is skipped, and the run says why and
 * how many tests that was, instead of a bare "skipped" count.
 */
const SERVICES = {
  postgres: { env: 'DATABASE_URL', name: 'PostgreSQL' },
  redis: { env: 'REDIS_URL', name: 'Redis' },
} as const;

type Service = keyof typeof SERVICES;

/** `describe` when every service is configured, else `describe.skip` with a line saying why. */
export function describeWith(services: Service[], name: string, fn: () => void): void {
  const missing = services.filter((s) => !process.env[SERVICES[s].env]);
  describeIf(!missing.length, missing.map((s) => `${SERVICES[s].name} not available (${SERVICES[s].env} unset)`).join(', '), name, fn);
}

/** `describe` when `available`, else `describe.skip` and a line: `<why>: N tests of "<name>" skipped`. */
export function describeIf(available: boolean, why: string, name: string, fn: () => void): void {
  if (available) {
    describe(name, fn);
    return;
  }
  let count = 0;
  const g = globalThis as unknown as Record<'it' | 'test', jest.It>;
  const real = { it: g.it, test: g.test };
  const counting = (original: jest.It): jest.It => Object.assign((...args: Parameters<jest.It>) => (count++, original(...args)), original);
  g.it = counting(real.it);
  g.test = counting(real.test);
  try {
    describe.skip(name, fn);
  } finally {
    g.it = real.it;
    g.test = real.test;
  }
  process.stderr.write(`${why}: ${count} test${count === 1 ? '' : 's'} of "${name}" skipped\n`);
}

import { BatchLanes, laneOf } from './batch-lanes';
import { writeLanes } from './database.module';

/** A batch function whose batches stay open until released, recording what ran and how many at once. */
function gated() {
  const open: { inputs: number[]; release(): void }[] = [];
  const batches: number[][] = [];
  let running = 0;
  let most = 0;
  const run = async (inputs: number[]) => {
    running++;
    most = Math.max(most, running);
    batches.push(inputs);
    await new Promise<void>((release) => open.push({ inputs, release }));
    running--;
    return inputs.map((value) => ({ ok: true as const, value }));
  };
  const releaseAll = () => open.splice(0).forEach((b) => b.release());
  return { run, open, batches, releaseAll, most: () => most };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

describe('laneOf', () => {
  it('spreads consecutive keys over every lane and keeps each key in one lane, negative keys too', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((k) => laneOf(k, 4))).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect([-1, -4, -5].map((k) => laneOf(k, 4))).toEqual([3, 0, 3]);
    expect(laneOf(12345, 1)).toBe(0);
  });
});

describe('BatchLanes', () => {
  it('runs a batch per lane at once, while the calls of one key wait for the batch in flight in their lane and keep their order', async () => {
    const g = gated();
    // key = the input's tens: 10, 11 → key 1 (lane 1); 20, 21, 22 → key 2 (lane 0); 30 → key 3 (lane 1).
    const lanes = new BatchLanes<number, number>(g.run, 100, 2, (n) => Math.floor(n / 10));
    const results = [10, 20, 11, 21, 30, 22].map((n) => lanes.push(n));
    await until(() => g.open.length === 2);
    // One batch in flight in each lane, the others waiting behind it in their own lane.
    expect(g.batches).toEqual([[10], [20]]);
    expect(lanes.size).toBe(6);
    g.releaseAll();
    await until(() => g.open.length === 2);
    expect(g.batches.slice(2)).toEqual([[11, 30], [21, 22]]);
    g.releaseAll();
    expect(await Promise.all(results)).toEqual([10, 20, 11, 21, 30, 22]);
    expect(g.most()).toBe(2);
    expect(lanes.size).toBe(0);
    await lanes.idle();
  });

  it('never has more batches in flight than lanes, however many keys', async () => {
    const g = gated();
    const lanes = new BatchLanes<number, number>(g.run, 100, 3, (n) => n);
    const results = Array.from({ length: 30 }, (_, i) => lanes.push(i));
    while (g.batches.flat().length < 30) {
      await until(() => g.open.length > 0);
      expect(g.open.length).toBeLessThanOrEqual(3);
      g.releaseAll();
      await new Promise((r) => setImmediate(r));
    }
    g.releaseAll();
    await Promise.all(results);
    expect(g.most()).toBe(3);
    // Every batch holds keys of one lane only, in the order they were pushed.
    for (const batch of g.batches) {
      expect(new Set(batch.map((n) => laneOf(n, 3))).size).toBe(1);
      expect([...batch].sort((a, b) => a - b)).toEqual(batch);
    }
  });

  it('bounds all lanes together by maxPending: the next call is refused at once with a 503, in any lane, and accepted again once drained', async () => {
    const g = gated();
    const lanes = new BatchLanes<number, number>(g.run, 2, 4, (n) => n, 5);
    const held = [0, 1, 2, 3, 4].map((n) => lanes.push(n));
    expect(lanes.size).toBe(5);
    for (const key of [5, 6, 7, 8]) await expect(lanes.push(key)).rejects.toMatchObject({ status: 503, message: 'Too many writes waiting for the database' });
    await until(() => g.open.length === 4);
    g.releaseAll();
    await until(() => g.open.length === 1);
    g.releaseAll();
    expect(await Promise.all(held)).toEqual([0, 1, 2, 3, 4]);
    expect(lanes.size).toBe(0);
    const again = lanes.push(9);
    await until(() => g.open.length === 1);
    g.releaseAll();
    await expect(again).resolves.toBe(9);
  });

  it('refuses a lane count that is not a positive integer', () => {
    const run = async (inputs: number[]) => inputs.map((value) => ({ ok: true as const, value }));
    expect(() => new BatchLanes<number, number>(run, 10, 0, (n) => n)).toThrow('lanes must be a positive integer');
  });
});

describe('writeLanes', () => {
  const url = 'postgres://db/test';
  it('is MESSAGE_WRITE_LANES when the pool has room for it', () => {
    expect(writeLanes({ databaseUrl: url, dbPoolSize: 10, messageWriteLanes: 4 })).toBe(4);
    expect(writeLanes({ databaseUrl: url, dbPoolSize: 10, messageWriteLanes: 1 })).toBe(1);
  });

  it('never takes more than half the pool, and at least one lane', () => {
    expect(writeLanes({ databaseUrl: url, dbPoolSize: 10, messageWriteLanes: 16 })).toBe(5);
    expect(writeLanes({ databaseUrl: url, dbPoolSize: 4, messageWriteLanes: 4 })).toBe(2);
    expect(writeLanes({ databaseUrl: url, dbPoolSize: 1, messageWriteLanes: 4 })).toBe(1);
  });

  it('is one on the embedded engine (a single connection)', () => {
    expect(writeLanes({ databaseUrl: null, dbPoolSize: 10, messageWriteLanes: 4 })).toBe(1);
  });
});

import { BatchLanes } from './batch-lanes';
import { BatchQueue } from './batch-queue';
import { writeLanes } from './session-settings';

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
  /** Releases the open batch holding `n` (every open batch when none is given). */
  const release = (n?: number) => {
    for (const b of open.filter((b) => n === undefined || b.inputs.includes(n))) {
      open.splice(open.indexOf(b), 1);
      b.release();
    }
  };
  return { run, open, batches, release, most: () => most };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

const tens = (n: number) => Math.floor(n / 10);

describe('BatchLanes', () => {
  it('starts a batch for a call whose key is not in flight at once, while a call of a key in flight waits for it, in order', async () => {
    const g = gated();
    // key = the input's tens: 10, 11, 12 are of key 1; 20, 21 of key 2; 30 of key 3.
    const lanes = new BatchLanes<number, number>(g.run, 100, 4, tens);
    const results = [10, 11, 12].map((n) => lanes.push(n));
    await until(() => g.open.length === 1);
    // Key 1 is in flight: 11 and 12 wait; 20 and 30 (other keys) start their own batches at once, 21 waits for 20.
    results.push(lanes.push(20), lanes.push(30), lanes.push(21));
    await until(() => g.open.length === 3);
    expect(g.batches).toEqual([[10], [20], [30]]);
    expect(lanes.size).toBe(6);
    expect(lanes.busy).toBe(3);
    // Key 2's batch ends first: 21 goes; 11 and 12 still wait for key 1.
    g.release(20);
    await until(() => g.batches.length === 4);
    expect(g.batches[3]).toEqual([21]);
    g.release(10);
    await until(() => g.batches.length === 5);
    expect(g.batches[4]).toEqual([11, 12]);
    g.release();
    expect(await Promise.all(results)).toEqual([10, 11, 12, 20, 30, 21]);
    expect(lanes.size).toBe(0);
    await lanes.idle();
  });

  it('never has more batches in flight than lanes, nor one key in two of them, and keeps each key in order', async () => {
    const g = gated();
    const lanes = new BatchLanes<number, number>(g.run, 4, 3, (n) => n % 5);
    const results = Array.from({ length: 60 }, (_, i) => lanes.push(i));
    while (g.batches.flat().length < 60 || g.open.length) {
      await until(() => g.open.length > 0);
      expect(g.open.length).toBeLessThanOrEqual(3);
      const keys = g.open.flatMap((b) => [...new Set(b.inputs.map((n) => n % 5))]);
      expect(new Set(keys).size).toBe(keys.length);
      g.release(g.open[0].inputs[0]);
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(results)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(g.most()).toBe(3);
    expect(Math.max(...g.batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    // Each key's calls ran in the order they were pushed.
    for (let key = 0; key < 5; key++) {
      const ran = g.batches.flat().filter((n) => n % 5 === key);
      expect(ran).toEqual([...ran].sort((a, b) => a - b));
    }
  });

  it('a key cut off by maxBatch keeps its later calls for the next batch, after its earlier ones', async () => {
    const g = gated();
    const lanes = new BatchLanes<number, number>(g.run, 2, 1, tens);
    const results = [10, 20, 11, 21].map((n) => lanes.push(n));
    await until(() => g.open.length === 1);
    g.release();
    await until(() => g.batches.length === 2);
    expect(g.batches).toEqual([[10], [20, 11]]);
    g.release();
    await until(() => g.batches.length === 3);
    expect(g.batches[2]).toEqual([21]);
    g.release();
    expect(await Promise.all(results)).toEqual([10, 20, 11, 21]);
  });

  it('bounds all lanes together by maxPending: the next call is refused at once with a 503, whatever its key, and accepted again once drained', async () => {
    const g = gated();
    const lanes = new BatchLanes<number, number>(g.run, 2, 4, (n) => n, 5);
    const held = [0, 1, 2, 3, 4].map((n) => lanes.push(n));
    expect(lanes.size).toBe(5);
    for (const key of [5, 6, 0]) await expect(lanes.push(key)).rejects.toMatchObject({ status: 503, message: 'Too many writes waiting for the database' });
    await until(() => g.open.length === 4);
    g.release();
    await until(() => g.open.length === 1);
    g.release();
    expect(await Promise.all(held)).toEqual([0, 1, 2, 3, 4]);
    expect(lanes.size).toBe(0);
    const again = lanes.push(9);
    await until(() => g.open.length === 1);
    g.release();
    await expect(again).resolves.toBe(9);
  });

  it('rejects every call of a batch that throws, and goes on; is waited for by a graceful shutdown', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const lanes = new BatchLanes<number, number>(async (inputs) => {
      await gate;
      if (inputs.includes(99)) throw new Error('batch failed');
      return inputs.map((value) => ({ ok: true, value }));
    }, 10, 2, tens);
    const failed = lanes.push(99);
    const fine = lanes.push(10);
    expect(await BatchQueue.allIdle(0)).toBe(false);
    release();
    await expect(failed).rejects.toThrow('batch failed');
    await expect(fine).resolves.toBe(10);
    await expect(lanes.push(11)).resolves.toBe(11);
    expect(await BatchQueue.allIdle(1000)).toBe(true);
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

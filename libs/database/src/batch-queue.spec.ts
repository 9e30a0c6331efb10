import { BatchQueue, Settled } from './batch-queue';

describe('BatchQueue', () => {
  it('runs the first call at once and groups the calls that arrive meanwhile into the next batch', async () => {
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>(async (inputs) => {
      batches.push(inputs);
      await new Promise((r) => setTimeout(r, 10));
      return inputs.map((n) => ({ ok: true, value: n * 2 }));
    }, 100);
    const results = await Promise.all([1, 2, 3, 4].map((n) => queue.push(n)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('with gatherTurn, an idle queue takes the calls of one turn of the event loop into its first batch', async () => {
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>(async (inputs) => {
      batches.push(inputs);
      await new Promise((r) => setTimeout(r, 10));
      return inputs.map((n) => ({ ok: true, value: n * 2 }));
    }, 100, Infinity, { gatherTurn: true });
    const first = [1, 2, 3].map((n) => queue.push(n));
    expect(queue.size).toBe(3);
    // Until the first batch has started (a fixed sleep raced the end of the turn on a loaded machine).
    while (!batches.length) await new Promise((r) => setImmediate(r));
    // Once a batch runs, later calls wait for the next one, as without gatherTurn.
    const later = [4, 5].map((n) => queue.push(n));
    expect(await Promise.all([...first, ...later])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('takes calls pushed together into one batch, even on an idle queue, up to maxBatch, and refuses those beyond maxPending', async () => {
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>(async (inputs) => {
      batches.push(inputs);
      await new Promise((r) => setTimeout(r, 5));
      return inputs.map((n) => ({ ok: true, value: n + 1 }));
    }, 3, 5);
    const results = await Promise.allSettled(queue.pushAll([1, 2, 3, 4, 5, 6]));
    expect(results.slice(0, 5)).toEqual([2, 3, 4, 5, 6].map((value) => ({ status: 'fulfilled', value })));
    expect(results[5]).toMatchObject({ status: 'rejected', reason: { message: 'Too many writes waiting for the database' } });
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('never puts more than maxBatch calls in one batch, and never runs two batches at once', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const queue = new BatchQueue<number, number>(async (inputs) => {
      running++;
      most = Math.max(most, running);
      sizes.push(inputs.length);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return inputs.map((value) => ({ ok: true, value }));
    }, 3);
    await Promise.all(Array.from({ length: 10 }, (_, i) => queue.push(i)));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
    expect(most).toBe(1);
  });

  it('rejects one call for a failed item and every call of a batch that throws, then goes on', async () => {
    let fail = true;
    const queue = new BatchQueue<number, number>(async (inputs) => {
      if (fail && inputs.includes(99)) throw new Error('batch failed');
      return inputs.map((n): Settled<number> => (n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: n }));
    }, 10);
    await expect(queue.push(-1)).rejects.toThrow('bad -1');
    await expect(queue.push(99)).rejects.toThrow('batch failed');
    fail = false;
    await expect(queue.push(5)).resolves.toBe(5);
  });
});

describe('BatchQueue bound', () => {
  it('holds at most maxPending calls and refuses the next at once with a 503, then accepts again once drained', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new BatchQueue<number, number>(async (inputs) => {
      await gate;
      return inputs.map((value) => ({ ok: true, value }));
    }, 2, 5);
    const held = Array.from({ length: 5 }, (_, i) => queue.push(i));
    expect(queue.size).toBe(5);
    await expect(queue.push(99)).rejects.toMatchObject({ status: 503 });
    release();
    expect(await Promise.all(held)).toEqual([0, 1, 2, 3, 4]);
    expect(queue.size).toBe(0);
    await expect(queue.push(7)).resolves.toBe(7);
  });
});

describe('BatchQueue minIntervalMs', () => {
  afterEach(() => jest.useRealTimers());

  it('starts batches at most once per interval while calls keep coming; a full batch, a call after a quiet spell, and every batch after unspace() at once', async () => {
    jest.useFakeTimers();
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>(async (inputs) => {
      batches.push(inputs);
      return inputs.map((value) => ({ ok: true, value }));
    }, 3, Infinity, { minIntervalMs: 20 });
    const turn = () => jest.advanceTimersByTimeAsync(0);

    const first = queue.push(1); // idle, nothing recorded lately: at once
    expect(batches).toEqual([[1]]);
    await expect(first).resolves.toBe(1);
    const spaced = [queue.push(2), queue.push(3)];
    await jest.advanceTimersByTimeAsync(19);
    expect(batches).toEqual([[1]]); // within the interval of the first batch's start
    await jest.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[1], [2, 3]]);
    expect(await Promise.all(spaced)).toEqual([2, 3]);

    const full = [4, 5, 6].map((n) => queue.push(n)); // maxBatch waiting: at once
    await turn();
    expect(batches).toEqual([[1], [2, 3], [4, 5, 6]]);
    expect(await Promise.all(full)).toEqual([4, 5, 6]);

    await jest.advanceTimersByTimeAsync(50); // a quiet spell
    const afterQuiet = queue.push(7);
    expect(batches.at(-1)).toEqual([7]);
    await afterQuiet;

    const waiting = queue.push(8);
    await turn();
    expect(batches.at(-1)).toEqual([7]);
    queue.unspace();
    await turn();
    expect(batches.at(-1)).toEqual([8]);
    await waiting;
    const next = queue.push(9);
    expect(batches.at(-1)).toEqual([9]);
    await next;
    expect(queue.size).toBe(0);
  });
});

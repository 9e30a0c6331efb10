import { ShortLivedCache } from './short-lived-cache';

describe('ShortLivedCache', () => {
  let clock = 0;
  const now = () => clock;
  const counting = () => {
    const calls: number[][] = [];
    const load = async (keys: number[]) => {
      calls.push(keys);
      return new Map(keys.map((k) => [k, k * 10 + calls.length]));
    };
    return { calls, load };
  };

  beforeEach(() => (clock = 0));

  it('loads only the keys it lacks, and again once they are older than the ttl', async () => {
    const cache = new ShortLivedCache<number, number | null>(250, 100, now);
    const { calls, load } = counting();
    expect(await cache.getMany([1, 2, 1], load, null)).toEqual(new Map([[1, 11], [2, 21]]));
    clock = 100;
    expect(await cache.getMany([2, 3], load, null)).toEqual(new Map([[2, 21], [3, 32]]));
    clock = 260;
    expect(await cache.getMany([1, 3], load, null)).toEqual(new Map([[1, 13], [3, 32]]));
    expect(calls).toEqual([[1, 2], [3], [1]]);
  });

  it('shares a load in flight, answers the fallback for keys the load did not return, and keeps no failure', async () => {
    const cache = new ShortLivedCache<number, number | null>(250, 100, now);
    let release!: () => void;
    let loads = 0;
    const slow = (keys: number[]) => {
      loads++;
      return new Promise<Map<number, number | null>>((resolve) => (release = () => resolve(new Map([[keys[0], 7]]))));
    };
    const a = cache.getMany([5, 6], slow, null);
    const b = cache.getMany([5], slow, null);
    release();
    expect(await a).toEqual(new Map([[5, 7], [6, null]]));
    expect(await b).toEqual(new Map([[5, 7]]));
    expect(loads).toBe(1);

    const failing = async () => {
      throw new Error('db down');
    };
    await expect(cache.getMany([9], failing, null)).rejects.toThrow('db down');
    const { load } = counting();
    expect(await cache.getMany([9], load, null)).toEqual(new Map([[9, 91]]));
  });

  it('forgets one key or all, and holds at most maxEntries', async () => {
    const cache = new ShortLivedCache<number, number | null>(1000, 2, now);
    const { calls, load } = counting();
    await cache.getMany([1, 2, 3], load, null);
    await cache.getMany([3], load, null);
    expect(calls).toEqual([[1, 2, 3]]);
    await cache.getMany([1], load, null); // evicted: only 2 kept
    cache.forget(3);
    await cache.getMany([3], load, null);
    cache.forget();
    await cache.getMany([1], load, null);
    expect(calls).toEqual([[1, 2, 3], [1], [3], [1]]);
  });
});

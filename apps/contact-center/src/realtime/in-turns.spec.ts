import { inTurns } from './in-turns';

describe('inTurns', () => {
  it('visits every item once, in order', async () => {
    const items = Array.from({ length: 1001 }, (_, i) => i);
    const seen: number[] = [];
    await inTurns(items, 100, (i) => seen.push(i));
    expect(seen).toEqual(items);
  });

  it('lets other work run between slices, never inside one', async () => {
    const log: string[] = [];
    const items = Array.from({ length: 7 }, (_, i) => i);
    const other = new Promise<void>((resolve) => setImmediate(() => (log.push('other'), resolve())));
    await Promise.all([inTurns(items, 3, (i) => log.push(String(i))), other]);
    // The first slice runs at once; the waiting callback runs before the second slice.
    expect(log).toEqual(['0', '1', '2', 'other', '3', '4', '5', '6']);
  });

  it('does not yield for a list that fits one slice', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('other'));
    await inTurns([1, 2], 5, (i) => log.push(String(i)));
    log.push('done');
    expect(log).toEqual(['1', '2', 'done']);
  });

  it('refuses a slice of nothing', async () => {
    await expect(inTurns([1], 0, () => undefined)).rejects.toThrow(RangeError);
  });
});

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
    await expect(inTurns([1], { perTurn: 5, budgetMs: 0 }, () => undefined)).rejects.toThrow(RangeError);
  });

  describe('bounded by time', () => {
    /** A clock that the items themselves move: each item costs `cost` ms. */
    function costly(cost: number) {
      let now = 0;
      return { clock: () => now, spend: () => (now += cost) };
    }

    it('ends a turn once its budget is spent, before the count is reached', async () => {
      const { clock, spend } = costly(1);
      const log: string[] = [];
      const items = Array.from({ length: 10 }, (_, i) => i);
      const others = Array.from({ length: 3 }, () => new Promise<void>((resolve) => setImmediate(() => (log.push('other'), resolve()))));
      const [turns] = await Promise.all([inTurns(items, { perTurn: 100, budgetMs: 3, clock }, (i) => (spend(), log.push(String(i)))), ...others]);
      // 3 ms per turn at 1 ms an item: 3 items a turn, the last turn holding what is left.
      expect(turns).toBe(4);
      expect(log.filter((e) => e !== 'other')).toEqual(items.map(String));
      expect(log.slice(0, 4)).toEqual(['0', '1', '2', 'other']);
    });

    it('stops exactly at the budget: an item that brings the turn to it is the turn\'s last', async () => {
      const { clock, spend } = costly(2);
      // The turn each item ran in: a callback queued by an item runs between this turn and the next.
      let turn = 0;
      let armed = false;
      const turnOf: number[] = [];
      const turns = await inTurns(Array.from({ length: 6 }, (_, i) => i), { perTurn: 10, budgetMs: 4, clock }, () => {
        spend();
        turnOf.push(turn);
        if (!armed) (armed = true), setImmediate(() => ((turn += 1), (armed = false)));
      });
      expect(turns).toBe(3);
      expect(turnOf).toEqual([0, 0, 1, 1, 2, 2]);
    });

    it('always takes at least one item per turn, however slow', async () => {
      const { clock, spend } = costly(50);
      const seen: number[] = [];
      expect(await inTurns([1, 2, 3], { perTurn: 10, budgetMs: 3, clock }, (i) => (spend(), seen.push(i)))).toBe(3);
      expect(seen).toEqual([1, 2, 3]);
    });

    it('gives up the time bound for every turn that begins behind schedule', async () => {
      // 1 ms an item, 2 ms a turn, 10 items to finish within 10 ms; the gap between turns costs 4 ms.
      let now = 0;
      let armed = false;
      let turn = 0;
      const turnOf: number[] = [];
      const turns = await inTurns(Array.from({ length: 10 }, (_, i) => i), { perTurn: 5, budgetMs: 2, finishWithinMs: 10, clock: () => now }, () => {
        now += 1;
        turnOf.push(turn);
        if (!armed) (armed = true), setImmediate(() => ((now += 4), (turn += 1), (armed = false)));
      });
      // Turn 0 at 0 ms, on schedule: 2 items (budget). Turn 1 at 6 ms with 2 of 10 done (2 ms allowed):
      // behind, so the count: 5 items. Turn 2 at 15 ms with 7 done: behind (7 ms allowed), the rest.
      expect(turnOf).toEqual([0, 0, 1, 1, 1, 1, 1, 2, 2, 2]);
      expect(turns).toBe(3);
    });

    it('keeps to the time bound while on schedule', async () => {
      let now = 0;
      const turnOf: number[] = [];
      let turn = 0;
      let armed = false;
      await inTurns(Array.from({ length: 6 }, (_, i) => i), { perTurn: 5, budgetMs: 2, finishWithinMs: 1000, clock: () => now }, () => {
        now += 1;
        turnOf.push(turn);
        if (!armed) (armed = true), setImmediate(() => ((turn += 1), (armed = false)));
      });
      expect(turnOf).toEqual([0, 0, 1, 1, 2, 2]);
    });

    it('still holds to the count when the items are cheap', async () => {
      const { clock } = costly(0);
      const seen: number[] = [];
      expect(await inTurns(Array.from({ length: 250 }, (_, i) => i), { perTurn: 100, budgetMs: 3, clock }, (i) => seen.push(i))).toBe(3);
      expect(seen).toHaveLength(250);
    });
  });
});

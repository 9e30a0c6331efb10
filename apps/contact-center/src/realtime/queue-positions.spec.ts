import { positionWindowMs } from './queue-positions';

describe('positionWindowMs', () => {
  it('recomputes a short line quickly', () => {
    expect(positionWindowMs(0)).toBe(100);
    expect(positionWindowMs(50)).toBe(100);
  });

  it('grows with the line so that pushes per second stay bounded', () => {
    expect(positionWindowMs(2000)).toBe(500);
    expect(positionWindowMs(4000)).toBe(1000);
    // pushes per second = line / window: bounded by the budget once the window grows
    for (const line of [1000, 4000, 8000]) expect(line / (positionWindowMs(line) / 1000)).toBeLessThanOrEqual(4000);
  });

  it('never waits so long that a waiting customer goes 5 s without hearing', () => {
    expect(positionWindowMs(10_000)).toBe(2500);
    expect(positionWindowMs(1_000_000)).toBe(2500);
  });
});

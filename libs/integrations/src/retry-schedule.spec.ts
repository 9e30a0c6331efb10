import { nextRetryIn } from './retry-schedule';

describe('nextRetryIn', () => {
  it('follows 1 s, 5 s, 30 s, 2 min, 10 min, then hourly', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => nextRetryIn(n, 0, 1))).toEqual([1, 5, 30, 120, 600, 3600, 3600]);
  });

  it('stops 24 h after the event', () => {
    expect(nextRetryIn(20, 23 * 3600, 1)).toBe(3600);
    expect(nextRetryIn(21, 23 * 3600 + 1, 1)).toBeNull();
  });

  it('scales the delays and the horizon', () => {
    expect(nextRetryIn(1, 0, 0.001)).toBeCloseTo(0.001);
    expect(nextRetryIn(6, 0, 0.001)).toBeCloseTo(3.6);
    expect(nextRetryIn(6, 86.4, 0.001)).toBeNull();
  });
});

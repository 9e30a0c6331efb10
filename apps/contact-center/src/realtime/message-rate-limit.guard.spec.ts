import { TokenBucket } from '../platform/message-rate-limit';

describe('TokenBucket', () => {
  it('allows a burst of `rate`, then refills `rate` per second', () => {
    const bucket = new TokenBucket(5);
    const t0 = Date.now();
    expect(Array.from({ length: 7 }, () => bucket.take(t0))).toEqual([true, true, true, true, true, false, false]);
    expect(bucket.take(t0 + 100)).toBe(false);
    expect(bucket.take(t0 + 200)).toBe(true);
    expect(Array.from({ length: 6 }, () => bucket.take(t0 + 2000)).filter(Boolean)).toHaveLength(5);
  });
});

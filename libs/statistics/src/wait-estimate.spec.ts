import { estimateWait, ESTIMATE_WINDOW_SECONDS, secondsPerPlace } from './wait-estimate';

describe('wait estimate', () => {
  it('moves one place per window / throughput seconds', () => {
    const perPlace = secondsPerPlace({ assignedInWindow: 30, loggedInMembers: 2 });
    expect(perPlace).toBe(ESTIMATE_WINDOW_SECONDS / 30);
    expect(estimateWait(1, perPlace)).toBe(30);
    expect(estimateWait(4, perPlace)).toBe(120);
  });

  it('has no basis without recent assignments or without a logged-in member', () => {
    expect(secondsPerPlace({ assignedInWindow: 0, loggedInMembers: 3 })).toBeNull();
    expect(secondsPerPlace({ assignedInWindow: 5, loggedInMembers: 0 })).toBeNull();
    expect(estimateWait(2, null)).toBeNull();
  });

  it('needs a position', () => {
    expect(estimateWait(undefined, 10)).toBeNull();
    expect(estimateWait(0, 10)).toBeNull();
  });
});

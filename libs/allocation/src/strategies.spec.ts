import { Candidate, chooseOverflow, judge, orderByStrategy, precedesUnread, preferFresh } from './strategies';

const now = new Date('2026-01-01T12:00:00Z');
const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000);

function agent(agentId: number, over: Partial<Candidate> = {}): Candidate {
  return { agentId, skills: [], maxConcurrent: 2, active: 0, logged: true, paused: false, wrapUpUntil: null, lastAssignedAt: null, ...over };
}

const ids = (list: Candidate[]) => list.map((c) => c.agentId);

describe('judge', () => {
  it('is eligible when logged, unpaused, out of wrap-up, serving the channel and below capacity', () => {
    expect(judge(agent(1), 'web', now)).toMatchObject({ eligible: true, reason: 'eligible' });
  });

  it('names the first failing rule', () => {
    expect(judge(agent(1, { skills: ['wa'] }), 'web', now).reason).toBe('skill');
    expect(judge(agent(1, { logged: false, paused: true }), 'web', now).reason).toBe('offline');
    expect(judge(agent(1, { paused: true }), 'web', now).reason).toBe('paused');
    expect(judge(agent(1, { wrapUpUntil: new Date(now.getTime() + 1000) }), 'web', now).reason).toBe('wrap-up');
    expect(judge(agent(1, { active: 2 }), 'web', now).reason).toBe('full');
  });

  it('treats a wrap-up that has ended as over, and empty skills as every channel', () => {
    expect(judge(agent(1, { wrapUpUntil: at(1) }), 'web', now).eligible).toBe(true);
    expect(judge(agent(1, { skills: [] }), 'line', now).eligible).toBe(true);
    expect(judge(agent(1, { skills: ['wa', 'line'] }), 'line', now).eligible).toBe(true);
  });

  it('with ignoreAvailability still needs the skill and a free slot', () => {
    const opts = { ignoreAvailability: true };
    expect(judge(agent(1, { logged: false, paused: true, wrapUpUntil: new Date(now.getTime() + 1000) }), 'web', now, opts).eligible).toBe(true);
    expect(judge(agent(1, { logged: false, active: 2 }), 'web', now, opts).reason).toBe('full');
    expect(judge(agent(1, { logged: false, skills: ['fb'] }), 'web', now, opts).reason).toBe('skill');
  });
});

describe('judge with channel capacity', () => {
  const limited = (over: Partial<Candidate> = {}) => agent(1, { maxConcurrent: 3, channelCapacity: { web: 2, wa: 1 }, ...over });

  it('is channel-full when the offered + active conversations on that channel reach its cap', () => {
    expect(judge(limited({ active: 1, byChannel: { wa: 1 } }), 'wa', now).reason).toBe('channel-full');
    expect(judge(limited({ active: 1, byChannel: { wa: 1 } }), 'web', now).eligible).toBe(true);
    expect(judge(limited({ active: 2, byChannel: { web: 2 } }), 'web', now).reason).toBe('channel-full');
    expect(judge(limited({ active: 2, byChannel: { web: 1, wa: 1 } }), 'web', now).eligible).toBe(true);
  });

  it('caps nothing for a channel without a key, while maxConcurrent caps every channel', () => {
    expect(judge(limited({ active: 2, byChannel: { fb: 2 } }), 'fb', now).eligible).toBe(true);
    expect(judge(limited({ active: 3, byChannel: { fb: 3 } }), 'fb', now).reason).toBe('full');
    expect(judge(limited({ active: 3, byChannel: { web: 1, fb: 2 } }), 'web', now).reason).toBe('full');
  });

  it('a cap of 0 closes the channel; no caps at all behave as before', () => {
    expect(judge(agent(1, { channelCapacity: { line: 0 } }), 'line', now).reason).toBe('channel-full');
    expect(judge(agent(1, { byChannel: { web: 1 }, active: 1 }), 'web', now).eligible).toBe(true);
  });

  it('names skill, presence and overall capacity before channel-full', () => {
    expect(judge(limited({ skills: ['web'], byChannel: { wa: 1 } }), 'wa', now).reason).toBe('skill');
    expect(judge(limited({ paused: true, byChannel: { wa: 1 } }), 'wa', now).reason).toBe('paused');
    expect(judge(limited({ active: 3, byChannel: { wa: 1, web: 2 } }), 'wa', now).reason).toBe('full');
  });
});

describe('preferFresh', () => {
  it('moves the agents that declined or missed the conversation to the end, keeping the strategy order', () => {
    const ordered = [agent(3), agent(1), agent(4), agent(2)];
    expect(ids(preferFresh(ordered, [1, 2]))).toEqual([3, 4, 1, 2]);
    expect(ids(preferFresh(ordered, [3]))).toEqual([1, 4, 2, 3]);
  });

  it('still offers to a decliner when nobody else is eligible, and changes nothing without decliners', () => {
    expect(ids(preferFresh([agent(5)], [5]))).toEqual([5]);
    expect(ids(preferFresh([agent(2), agent(1)], []))).toEqual([2, 1]);
    expect(ids(preferFresh([agent(2), agent(1)], [9]))).toEqual([2, 1]);
  });
});

describe('orderByStrategy', () => {
  it('least-busy: fewest active first, ties to the longest idle, then the lowest id', () => {
    const list = [agent(1, { active: 1 }), agent(2, { active: 0, lastAssignedAt: at(1) }), agent(3, { active: 0, lastAssignedAt: at(5) }), agent(4, { active: 0 })];
    expect(ids(orderByStrategy('least-busy', list, null))).toEqual([4, 3, 2, 1]);
    expect(ids(orderByStrategy('least-busy', [agent(7), agent(5)], null))).toEqual([5, 7]);
  });

  it('longest-idle: oldest last assignment first whatever the load', () => {
    const list = [agent(1, { active: 0, lastAssignedAt: at(1) }), agent(2, { active: 1, lastAssignedAt: at(10) }), agent(3, { active: 1, lastAssignedAt: at(5) })];
    expect(ids(orderByStrategy('longest-idle', list, null))).toEqual([2, 3, 1]);
  });

  it('round-robin: the next agent after the one assigned last, wrapping around', () => {
    const list = [agent(9), agent(3), agent(5)];
    expect(ids(orderByStrategy('round-robin', list, null))).toEqual([3, 5, 9]);
    expect(ids(orderByStrategy('round-robin', list, 3))).toEqual([5, 9, 3]);
    expect(ids(orderByStrategy('round-robin', list, 9))).toEqual([3, 5, 9]);
    expect(ids(orderByStrategy('round-robin', list, 4))).toEqual([5, 9, 3]);
  });

  it('does not reorder its input', () => {
    const list = [agent(2), agent(1)];
    orderByStrategy('least-busy', list, null);
    expect(ids(list)).toEqual([2, 1]);
  });
});

describe('chooseOverflow', () => {
  const full = (id: number, active: number, over: Partial<Candidate> = {}) => agent(id, { active, ...over });

  it('wait picks nobody', () => {
    expect(chooseOverflow('wait', [full(1, 2)], 'web')).toBeNull();
  });

  it('overflow-online picks the least-busy logged-in unpaused member', () => {
    const members = [full(1, 3), full(2, 2), full(3, 1, { paused: true }), full(4, 0, { logged: false })];
    expect(chooseOverflow('overflow-online', members, 'web')?.agentId).toBe(2);
    expect(chooseOverflow('overflow-online', [full(4, 0, { logged: false })], 'web')).toBeNull();
  });

  it('overflow-any falls back to the least-busy member of all (seed chat backend rule)', () => {
    const offline = [full(1, 3, { logged: false }), full(2, 1, { logged: false }), full(3, 2, { logged: false })];
    expect(chooseOverflow('overflow-any', offline, 'web')?.agentId).toBe(2);
    expect(chooseOverflow('overflow-any', [...offline, full(4, 5)], 'web')?.agentId).toBe(4);
  });

  it('never picks an agent without the channel skill', () => {
    expect(chooseOverflow('overflow-any', [full(1, 0, { skills: ['wa'] })], 'web')).toBeNull();
  });
});

describe('precedesUnread', () => {
  it('least-busy and longest-idle: the best read comes first of all while it is no later than the boundary as read', () => {
    const boundary = agent(5, { active: 1, lastAssignedAt: at(3) });
    expect(precedesUnread('least-busy', agent(2, { active: 1, lastAssignedAt: at(3) }), boundary, null, null)).toBe(true);
    expect(precedesUnread('least-busy', { ...boundary }, boundary, null, null)).toBe(true);
    // The batch loaded the boundary agent itself: unread agents tied with it as read may now come first.
    expect(precedesUnread('least-busy', { ...boundary, active: 2 }, boundary, null, null)).toBe(false);
    expect(precedesUnread('least-busy', agent(7, { active: 1, lastAssignedAt: at(3) }), boundary, null, null)).toBe(false);
    expect(precedesUnread('longest-idle', agent(9, { active: 3, lastAssignedAt: at(4) }), boundary, null, null)).toBe(true);
    expect(precedesUnread('longest-idle', agent(1, { active: 0, lastAssignedAt: at(2) }), boundary, null, null)).toBe(false);
  });

  it('round-robin: no later than the boundary in the rotation read, and after the pointer as it moved', () => {
    // Read after agent 10: the eligible 12, 15, 20 (boundary); unread ones come after 20, or wrap to ≤ 10.
    const boundary = agent(20);
    expect(precedesUnread('round-robin', agent(12), boundary, 10, 10)).toBe(true);
    expect(precedesUnread('round-robin', agent(25), boundary, 10, 10)).toBe(false);
    expect(precedesUnread('round-robin', agent(3), boundary, 10, 10)).toBe(false);
    // The batch assigned 12, then 15: 20 is still next; 12 again (wrapping) is not.
    expect(precedesUnread('round-robin', agent(20), boundary, 10, 15)).toBe(true);
    expect(precedesUnread('round-robin', agent(12), boundary, 10, 15)).toBe(false);
    expect(precedesUnread('round-robin', agent(12), boundary, 10, 20)).toBe(false);
    // A read that wrapped: after 30, the eligible 40 then 2, 5 (boundary).
    expect(precedesUnread('round-robin', agent(2), agent(5), 30, 40)).toBe(true);
    expect(precedesUnread('round-robin', agent(8), agent(5), 30, 40)).toBe(false);
    expect(precedesUnread('round-robin', agent(3), agent(20), null, null)).toBe(true);
  });
});

import { deriveState, inWrapUp, PresenceFacts } from './presence-state';

const now = new Date('2025-01-01T12:00:00Z');
const later = new Date(now.getTime() + 5_000);
const earlier = new Date(now.getTime() - 5_000);
const base: PresenceFacts = { logged: true, paused: false, wrapUpUntil: null, activeConversations: 0, maxConcurrent: 2 };
const state = (facts: Partial<PresenceFacts>) => deriveState({ ...base, ...facts }, now);

describe('deriveState', () => {
  it('is offline when not logged in, whatever else is set', () => {
    expect(state({ logged: false })).toBe('offline');
    expect(state({ logged: false, paused: true, wrapUpUntil: later, activeConversations: 5 })).toBe('offline');
  });

  it('is paused before wrap-up and busy', () => {
    expect(state({ paused: true })).toBe('paused');
    expect(state({ paused: true, wrapUpUntil: later, activeConversations: 2 })).toBe('paused');
  });

  it('is wrap-up while the wrap-up end is in the future, before busy', () => {
    expect(state({ wrapUpUntil: later })).toBe('wrap-up');
    expect(state({ wrapUpUntil: later, activeConversations: 2 })).toBe('wrap-up');
  });

  it('ignores a wrap-up whose end has passed (or is exactly now)', () => {
    expect(state({ wrapUpUntil: earlier })).toBe('available');
    expect(state({ wrapUpUntil: now })).toBe('available');
    expect(inWrapUp(now, now)).toBe(false);
    expect(inWrapUp(null, now)).toBe(false);
  });

  it('is busy at or above capacity, else available', () => {
    expect(state({ activeConversations: 1 })).toBe('available');
    expect(state({ activeConversations: 2 })).toBe('busy');
    expect(state({ activeConversations: 3 })).toBe('busy');
    expect(state({ activeConversations: 0, maxConcurrent: 1 })).toBe('available');
    expect(state({ activeConversations: 1, maxConcurrent: 1 })).toBe('busy');
  });
});

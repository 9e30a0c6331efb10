/**
 * The pure rules of allocation: who is eligible, in which order a strategy tries them, and
 * whom an overflow rule picks. No I/O here, so every rule is unit-tested on plain lists.
 */
import type { AgentState, QueueOverflow, QueueStrategy } from '@cc/protocol';
import { availableSql, deriveState } from '@cc/presence';

export type Strategy = QueueStrategy;
export type Overflow = QueueOverflow;

export interface Candidate {
  agentId: number;
  skills: string[];
  maxConcurrent: number;
  /** Slots the agent holds: its offered + active conversations. */
  active: number;
  /** Per-channel caps (API.md section 12); a channel without a key is capped by `maxConcurrent` only. */
  channelCapacity?: Record<string, number>;
  /** Slots held per channel (offered + active). */
  byChannel?: Record<string, number>;
  logged: boolean;
  paused: boolean;
  wrapUpUntil: Date | null;
  lastAssignedAt: Date | null;
}

export type IneligibleReason = 'skill' | 'offline' | 'paused' | 'wrap-up' | 'full' | 'channel-full';

export interface Verdict {
  candidate: Candidate;
  eligible: boolean;
  reason: 'eligible' | IneligibleReason;
}

export interface JudgeOptions {
  /** Preview with ignoreAvailability: logged off, paused and wrap-up do not exclude. */
  ignoreAvailability?: boolean;
}

export function servesChannel(c: Candidate, channel: string): boolean {
  return c.skills.length === 0 || c.skills.includes(channel);
}

/** servesChannel in SQL: agent `a` (an `agents` row) serves `channel` (an SQL expression). */
export function servesChannelSql(a: string, channel: string): string {
  return `(cardinality(${a}.skills) = 0 OR ${channel} = ANY(${a}.skills))`;
}

/**
 * True when the agent's slots on `channel` are all held (only when it has a cap for that channel).
 * The same rule in SQL is `channelHasRoomSql` below (its negation); keep the two in step.
 */
export function channelFull(c: Candidate, channel: string): boolean {
  const cap = c.channelCapacity?.[channel];
  return cap !== undefined && (c.byChannel?.[channel] ?? 0) >= cap;
}

/**
 * `NOT channelFull` in SQL: agent `a` (an `agents` row) has room on channel `channel` (an SQL
 * expression), given `held`, an SQL expression for its offered + active conversations on it.
 */
export function channelHasRoomSql(a: string, channel: string, held: string): string {
  return `(NOT (${a}.channel_capacity ? ${channel}) OR (${a}.channel_capacity ->> ${channel})::int > ${held})`;
}

/** The presence state an agent's availability comes from, renamed as an allocation verdict. */
const REASON_OF_STATE: Record<AgentState, Verdict['reason']> = { offline: 'offline', paused: 'paused', 'wrap-up': 'wrap-up', busy: 'full', available: 'eligible' };

/**
 * Why an agent can or cannot take a conversation on `channel` now (first failing rule wins): the
 * channel, then the one availability rule of presence (deriveState, with `active` as the slots
 * held; its SQL twin availableSql picks the drain's free agents), then the channel's own cap.
 * With ignoreAvailability only capacity counts.
 */
export function judge(c: Candidate, channel: string, now: Date, options: JudgeOptions = {}): Verdict {
  const available: Verdict['reason'] = options.ignoreAvailability
    ? c.active >= c.maxConcurrent
      ? 'full'
      : 'eligible'
    : REASON_OF_STATE[deriveState({ logged: c.logged, paused: c.paused, wrapUpUntil: c.wrapUpUntil, activeConversations: c.active, maxConcurrent: c.maxConcurrent }, now)];
  const reason: Verdict['reason'] = !servesChannel(c, channel) ? 'skill' : available === 'eligible' && channelFull(c, channel) ? 'channel-full' : available;
  return { candidate: c, eligible: reason === 'eligible', reason };
}

/**
 * `judge(...).eligible` (without ignoreAvailability) in SQL, as a predicate: the channel, the
 * availability rule (availableSql) and the channel's cap, for a row `a` carrying both the agents
 * and the agent_presence columns, `held` and `heldOnChannel` SQL expressions for its slots held
 * (all channels, and on `channel`). test/rules.spec.ts runs both on the same cases.
 */
export function eligibleSql(a: string, channel: string, held: string, heldOnChannel: string): string {
  return `(${servesChannelSql(a, channel)} AND ${availableSql(a, a, held)} AND ${channelHasRoomSql(a, channel, heldOnChannel)})`;
}

const idleKey = (c: Candidate) => c.lastAssignedAt?.getTime() ?? Number.NEGATIVE_INFINITY;

/** Fewest active first; ties to the longest idle (never assigned counts as idlest), then lowest id. */
export function byLeastBusy(a: Candidate, b: Candidate): number {
  return a.active - b.active || idleKey(a) - idleKey(b) || a.agentId - b.agentId;
}

/** Oldest last assignment first; ties to fewer active, then lowest id. */
export function byLongestIdle(a: Candidate, b: Candidate): number {
  return idleKey(a) - idleKey(b) || a.active - b.active || a.agentId - b.agentId;
}

/** Eligible candidates in the order the strategy tries them. */
export function orderByStrategy(strategy: Strategy, eligible: Candidate[], lastAssignedAgentId: number | null): Candidate[] {
  const list = [...eligible];
  switch (strategy) {
    case 'least-busy':
      return list.sort(byLeastBusy);
    case 'longest-idle':
      return list.sort(byLongestIdle);
    case 'round-robin': {
      list.sort((a, b) => a.agentId - b.agentId);
      if (lastAssignedAgentId === null) return list;
      const next = list.findIndex((c) => c.agentId > lastAssignedAgentId);
      return next <= 0 ? list : [...list.slice(next), ...list.slice(0, next)];
    }
  }
}

/**
 * orderByStrategy in SQL: an ORDER BY list for rows `a` (agents id and agent_presence
 * last_assigned_at columns) given SQL expressions for the queue's `strategy`, the slots `held` and
 * the queue's last assigned agent (`lastAssigned`, for round-robin). Timestamps compare at the
 * millisecond, as the JS Dates they become do. test/rules.spec.ts runs both on the same cases.
 */
export function strategyOrderSql(strategy: string, a: string, held: string, lastAssigned: string): string {
  const idle = `date_trunc('milliseconds', ${a}.last_assigned_at)`;
  return [
    `CASE WHEN ${strategy} = 'least-busy' THEN ${held} END`,
    `CASE WHEN ${strategy} IN ('least-busy', 'longest-idle') THEN ${idle} END NULLS FIRST`,
    `CASE WHEN ${strategy} = 'longest-idle' THEN ${held} END`,
    `CASE WHEN ${strategy} = 'round-robin' THEN (${a}.id <= ${lastAssigned}) IS TRUE END`,
    `${a}.id`,
  ].join(', ');
}

/**
 * Whether `best`, the first of some candidates in the strategy's order, also comes first among
 * all eligible members when only part of them was read: the read took the eligible members up to
 * `boundary` (the last read, as it was read) in the strategy's order with the queue's last
 * assigned agent `readPointer`; the others come after it in that order. Since then, decisions may
 * have raised read agents' loads (moving them later, never earlier) and moved the round-robin
 * pointer to `pointer`. Then `best` is the first of all when it still comes no later than the
 * boundary and, for round-robin, after the new pointer (the agents between the two were all read).
 */
export function precedesUnread(strategy: Strategy, best: Candidate, boundary: Candidate, readPointer: number | null, pointer: number | null): boolean {
  switch (strategy) {
    case 'least-busy':
      return byLeastBusy(best, boundary) <= 0;
    case 'longest-idle':
      return byLongestIdle(best, boundary) <= 0;
    case 'round-robin': {
      // Places in the rotation that starts after readPointer.
      const place = (id: number) => (readPointer !== null && id <= readPointer ? 1 : 0) * 2 ** 31 + id;
      if (place(best.agentId) > place(boundary.agentId)) return false;
      return pointer === readPointer || (pointer !== null && place(pointer) < place(best.agentId));
    }
  }
}

/**
 * The strategy's order, with the agents that declined or missed this conversation moved to the
 * end (in their strategy order): they are offered it again only when nobody else is eligible.
 */
export function preferFresh(ordered: Candidate[], passed: readonly number[]): Candidate[] {
  if (!passed.length) return ordered;
  const set = new Set(passed);
  return [...ordered.filter((c) => !set.has(c.agentId)), ...ordered.filter((c) => set.has(c.agentId))];
}

/**
 * When no member has a free slot: `overflow-online` picks the least-busy logged-in, unpaused
 * member serving the channel; `overflow-any` falls back to the least-busy member serving it,
 * logged in or not (the seed chat backend's rule). `wait` picks nobody.
 */
export function chooseOverflow(overflow: Overflow, members: Candidate[], channel: string): Candidate | null {
  if (overflow === 'wait') return null;
  const serving = members.filter((c) => servesChannel(c, channel));
  const online = serving.filter((c) => c.logged && !c.paused).sort(byLeastBusy);
  if (online.length) return online[0];
  if (overflow === 'overflow-any') return [...serving].sort(byLeastBusy)[0] ?? null;
  return null;
}

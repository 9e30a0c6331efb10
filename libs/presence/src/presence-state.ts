import { AgentState } from '@cc/common';

export const AGENT_STATES: AgentState[] = ['offline', 'available', 'busy', 'paused', 'wrap-up'];

/** What the derived state of an agent depends on. */
export interface PresenceFacts {
  logged: boolean;
  paused: boolean;
  wrapUpUntil: Date | null;
  activeConversations: number;
  /** Offers waiting for the agent's answer: they hold slots like active conversations. */
  offeredConversations?: number;
  maxConcurrent: number;
}

export function inWrapUp(wrapUpUntil: Date | null, now: Date): boolean {
  return wrapUpUntil !== null && wrapUpUntil.getTime() > now.getTime();
}

/**
 * The one rule for an agent's state, by precedence: offline > paused > wrap-up > busy > available.
 * A wrap-up whose end has passed no longer counts, even before the sweep clears it.
 */
export function deriveState(facts: PresenceFacts, now: Date): AgentState {
  if (!facts.logged) return 'offline';
  if (facts.paused) return 'paused';
  if (inWrapUp(facts.wrapUpUntil, now)) return 'wrap-up';
  if (facts.activeConversations + (facts.offeredConversations ?? 0) >= facts.maxConcurrent) return 'busy';
  return 'available';
}

/** Can the agent take one more conversation now? The `available` state of deriveState. */
export function isAvailable(facts: PresenceFacts, now: Date): boolean {
  return deriveState(facts, now) === 'available';
}

/*
 * The same rules in SQL, beside their TypeScript twins above; test/rules.spec.ts runs both on
 * the same cases on a real (embedded) database, so they cannot drift. `p` is the alias of
 * agent_presence (may be NULL from an outer join), `a` of agents, `held` an SQL expression for the
 * slots the agent holds (heldCountSql: offered + active conversations).
 */

/** deriveState in SQL, for filtering and reporting by state in the database. */
export function stateSql(p: string, a: string, held: string): string {
  return `(CASE
    WHEN ${p}.logged IS NOT TRUE THEN 'offline'
    WHEN ${p}.paused THEN 'paused'
    WHEN ${p}.wrap_up_until > now() THEN 'wrap-up'
    WHEN ${held} >= ${a}.max_concurrent THEN 'busy'
    ELSE 'available' END)`;
}

/** isAvailable in SQL, as a predicate (NULL, so false in a WHERE, when `p` is missing: offline). */
export function availableSql(p: string, a: string, held: string): string {
  return `(${p}.logged AND NOT ${p}.paused AND (${p}.wrap_up_until IS NULL OR ${p}.wrap_up_until <= now()) AND ${held} < ${a}.max_concurrent)`;
}

/*
 * The load of an agent (`agent` an SQL expression for its id), written once. The subqueries'
 * aliases are their own, so `agent` and `channel` may name the outer query's conversation `c`.
 */

/** The number of active conversations of an agent. */
export function activeCountSql(agent: string): string {
  return `(SELECT count(*)::int FROM conversations act WHERE act.agent_id = ${agent} AND act.status = 'active')`;
}

/**
 * The slots an agent holds, offered + active conversations (only on `channel` when given): the load
 * that makes it busy (deriveState's active + offered). Read from `agent_held_slots`, which a
 * trigger on conversations keeps in the writing transaction (migration AgentHeldSlots), so the
 * load is one index lookup rather than a count of the agent's conversations.
 */
export function heldCountSql(agent: string, channel?: string): string {
  return `(SELECT coalesce(sum(held.held), 0)::int FROM agent_held_slots held WHERE held.agent_id = ${agent}${channel ? ` AND held.channel = ${channel}` : ''})`;
}

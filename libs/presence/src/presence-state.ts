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

/**
 * The same rule in SQL, for filtering lists by state in the database. `p` is the alias of
 * agent_presence (may be NULL from an outer join), `a` of agents, `active` an expression for the
 * number of slots the agent holds (offered + active conversations). Keep it in step with deriveState.
 */
export function stateSql(p: string, a: string, active: string): string {
  return `(CASE
    WHEN ${p}.logged IS NOT TRUE THEN 'offline'
    WHEN ${p}.paused THEN 'paused'
    WHEN ${p}.wrap_up_until > now() THEN 'wrap-up'
    WHEN ${active} >= ${a}.max_concurrent THEN 'busy'
    ELSE 'available' END)`;
}

/** The number of active conversations of an agent (`agent` an SQL expression for its id). */
export function activeCountSql(agent: string): string {
  return `(SELECT count(*)::int FROM conversations c WHERE c.agent_id = ${agent} AND c.status = 'active')`;
}

/** The slots an agent holds, offered + active conversations: the load that makes it busy (deriveState's active + offered). */
export function heldCountSql(agent: string): string {
  return `(SELECT count(*)::int FROM conversations c WHERE c.agent_id = ${agent} AND c.status IN ('offered', 'active'))`;
}

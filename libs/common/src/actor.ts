import { AsyncLocalStorage } from 'async_hooks';
import type { Actor, Principal } from '@cc/protocol';

export type { Actor };

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

/** The actor a principal acts as: the API key when it came with one, else the user. */
export function actorOf(principal: Principal | null | undefined): Actor {
  if (!principal) return SYSTEM_ACTOR;
  if (principal.actor) return principal.actor;
  if (principal.apiKeyId !== undefined) return { type: 'api-key', id: principal.apiKeyId };
  return { type: principal.role, id: principal.id };
}

const ambient = new AsyncLocalStorage<Actor>();

/**
 * The actor of the request being served, for code that is not handed a principal (presence
 * commands, say). Set per HTTP request by an interceptor; timers and sweeps run as `system`.
 */
export function currentActor(): Actor {
  return ambient.getStore() ?? SYSTEM_ACTOR;
}

export function runAs<T>(actor: Actor, work: () => T): T {
  return ambient.run(actor, work);
}

/** Runs `work` (a timer, a sweep) outside any request: its changes are the system's. */
export function asSystem<T>(work: () => T): T {
  return ambient.run(SYSTEM_ACTOR, work);
}

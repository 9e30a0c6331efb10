import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/**
 * Work that another module must do inside the same transaction as a change (so nothing
 * half-applies), without the changing module importing that one. Example: presence logs an
 * agent off and the conversations module requeues its conversations in the same commit.
 */
export interface TransactionHookMap {
  /** The agent can no longer hold conversations (logged off, or about to be deleted). */
  'agent.released': { agentId: number; reason: 'logoff' | 'deleted' };
  /** The agent paused: it can keep its conversations but not its pending offers. */
  'agent.paused': { agentId: number };
  /** The agents' load changed (assignment, resolve, transfer): their state may have moved between available and busy. */
  'agent.load.changed': { agentIds: number[]; reason: string };
  /** An offered conversation was resolved (by its customer or an admin) before its agent answered: the offer ends unanswered. */
  'offer.withdrawn': { conversationId: number; agentId: number; by: 'customer' | 'admin' };
}

type Hook<K extends keyof TransactionHookMap> = (manager: EntityManager, payload: TransactionHookMap[K]) => Promise<void>;

@Injectable()
export class TransactionHooks {
  private readonly hooks = new Map<keyof TransactionHookMap, Hook<any>[]>();

  register<K extends keyof TransactionHookMap>(name: K, hook: Hook<K>): void {
    this.hooks.set(name, [...(this.hooks.get(name) ?? []), hook]);
  }

  async run<K extends keyof TransactionHookMap>(name: K, manager: EntityManager, payload: TransactionHookMap[K]): Promise<void> {
    for (const hook of this.hooks.get(name) ?? []) await hook(manager, payload);
  }
}

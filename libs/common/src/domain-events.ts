import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AgentStatusView, ConversationView, MessageView, OfferEndReason, Role } from './views';

/**
 * Every domain event, by name. Services publish these after their transaction commits;
 * the real-time layer relays them to sockets and the allocation engine reacts to them.
 */
export interface DomainEventMap {
  'auth.logged-out': { role: Role; userId: number };
  'agent.status.changed': { agentId: number; status: AgentStatusView; reason: string };
  /** A change that may let an agent take more conversations (capacity raised, queue joined, ...). */
  'agent.capacity.changed': { agentId: number; reason: string };
  'agent.deleted': { agentId: number };
  'conversation.queued': { conversation: ConversationView };
  'conversation.assigned': { conversation: ConversationView; agent: { id: number; name: string }; previousAgentId: number | null };
  /** `offeredAgentId`: the agent whose offer ended with it (the conversation has no agent). */
  'conversation.resolved': { conversation: ConversationView; offeredAgentId?: number };
  'conversation.transferred': { conversation: ConversationView; fromAgentId: number | null; toAgentId: number | null };
  /** Automatic allocation reserved a slot of `agent` and waits for its answer until `expiresAt`. */
  'conversation.offered': { conversation: ConversationView; agent: { id: number; name: string }; expiresAt: string };
  /** The offered agent accepted; `conversation.assigned` follows as for any assignment. */
  'conversation.offer.accepted': { conversation: ConversationView; agentId: number };
  /** An offer ended unaccepted (declined, expired, the agent logged off, paused or was deleted); the conversation waits again. */
  'conversation.offer.revoked': { conversation: ConversationView; agentId: number; reason: OfferEndReason };
  /** Conversations went back to the waiting line (agent logged off or deleted). */
  'conversation.requeued': { conversation: ConversationView; fromAgentId: number };
  /** Waiting positions may have moved in these queues. */
  'queue.positions.changed': { queueIds: number[] };
  /** `origin`: an opaque id of the connection that sent it (a socket id), which already has it from its ack. */
  'message.created': { message: MessageView; customerId: number; agentId: number | null; origin?: string };
}

export type DomainEventName = keyof DomainEventMap;

@Injectable()
export class DomainEvents {
  constructor(private readonly emitter: EventEmitter2) {}

  publish<K extends DomainEventName>(name: K, payload: DomainEventMap[K]): void {
    this.emitter.emit(name, payload);
  }
}

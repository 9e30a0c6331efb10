import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { conversationSeenBy, CUSTOMER, DomainEventMap, DomainEventName } from '@cc/common';
import { MetricsService } from '../platform/metrics.service';
import { PresenceGrace } from './presence-grace.service';
import { QueuePositions } from './queue-positions';
import { rooms, SocketHub } from './server-events';

/** `@OnEvent` whose handler must take that domain event's payload (errors are logged, never thrown at the publisher). */
function On<K extends DomainEventName>(name: K) {
  return <T extends (event: DomainEventMap[K]) => unknown>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>) =>
    OnEvent(name)(target, key, descriptor);
}

/**
 * Domain events → socket events (API.md section 8), whether the change came over HTTP or a
 * socket. Events go to user rooms, so every tab of a participant gets them, on every instance.
 */
@Injectable()
export class DomainEventsListener {
  constructor(
    private readonly hub: SocketHub,
    private readonly positions: QueuePositions,
    private readonly grace: PresenceGrace,
    private readonly metrics: MetricsService,
  ) {}

  @On('message.created')
  onMessage({ message, customerId, agentId, origin }: DomainEventMap['message.created']): void {
    this.metrics.messagesSent.inc({ sender_type: message.senderType });
    this.hub.send([rooms.customer(customerId), rooms.agentOf(agentId)], 'message.new', { message }, origin);
  }

  @On('conversation.queued')
  onQueued({ conversation }: DomainEventMap['conversation.queued']): void {
    this.positions.queued(conversation);
  }

  @On('queue.positions.changed')
  onPositions({ queueIds }: DomainEventMap['queue.positions.changed']): void {
    this.positions.changed(queueIds);
  }

  @On('conversation.assigned')
  onAssigned({ conversation, agent, previousAgentId }: DomainEventMap['conversation.assigned']): void {
    this.metrics.allocations.inc();
    this.positions.left(conversation.id);
    this.hub.send(
      [rooms.customer(conversation.customerId), rooms.agent(agent.id), rooms.admins, previousAgentId !== agent.id && rooms.agentOf(previousAgentId)],
      'conversation.assigned',
      { conversation, agent },
    );
  }

  @On('conversation.resolved')
  onResolved({ conversation, offeredAgentId }: DomainEventMap['conversation.resolved']): void {
    this.positions.left(conversation.id);
    this.hub.send(
      [rooms.customer(conversation.customerId), rooms.agentOf(conversation.agentId ?? offeredAgentId ?? null), rooms.admins],
      'conversation.resolved',
      { conversation },
    );
  }

  /** A transfer into a queue may end in an offer: the customer sees it as waiting (conversationSeenBy). */
  @On('conversation.transferred')
  onTransferred({ conversation, fromAgentId, toAgentId }: DomainEventMap['conversation.transferred']): void {
    this.hub.send([rooms.agentOf(fromAgentId), rooms.agentOf(toAgentId)], 'conversation.transferred', { conversation, fromAgentId, toAgentId });
    const seen = conversationSeenBy(CUSTOMER, conversation);
    this.hub.send(rooms.customer(conversation.customerId), 'conversation.transferred', { conversation: seen, fromAgentId, toAgentId: seen.agentId === null ? null : toAgentId });
  }

  @On('conversation.offered')
  onOffered({ conversation, agent, expiresAt }: DomainEventMap['conversation.offered']): void {
    this.hub.send([rooms.agent(agent.id), rooms.admins], 'conversation.offered', { conversation, expiresAt });
  }

  /** The customer's view is unchanged by an offer, so only the agent (and admins) hear it end. */
  @On('conversation.offer.revoked')
  onOfferRevoked({ conversation, agentId, reason }: DomainEventMap['conversation.offer.revoked']): void {
    this.hub.send([rooms.agent(agentId), rooms.admins], 'conversation.offer.revoked', { conversationId: conversation.id, reason });
  }

  /** Back to the waiting line: the customer sees it waiting again, the agent sees it leave (a transfer to nobody). */
  @On('conversation.requeued')
  onRequeued({ conversation, fromAgentId }: DomainEventMap['conversation.requeued']): void {
    this.positions.left(conversation.id);
    this.positions.queued(conversation);
    this.hub.send(rooms.agent(fromAgentId), 'conversation.transferred', { conversation, fromAgentId, toAgentId: null });
  }

  @On('agent.status.changed')
  onAgentStatus({ agentId, status, reason }: DomainEventMap['agent.status.changed']): Promise<void> | void {
    this.hub.send([rooms.admins, rooms.agent(agentId)], 'agent.status', status);
    if (reason === 'login') return this.grace.loggedIn(agentId);
  }

  @On('auth.logged-out')
  onLoggedOut({ role, userId }: DomainEventMap['auth.logged-out']): void {
    this.hub.disconnect(rooms.user({ role, id: userId }));
  }

  @On('agent.deleted')
  onAgentDeleted({ agentId }: DomainEventMap['agent.deleted']): void {
    this.hub.disconnect(rooms.agent(agentId));
  }
}

import { Module } from '@nestjs/common';
import { AllocationModule } from '@cc/allocation';
import { AuthModule } from '@cc/auth';
import { ConversationsModule } from '@cc/conversations';
import { PresenceModule } from '@cc/presence';
import { StatisticsModule } from '@cc/statistics';
import { AgentGateway } from './agent.gateway';
import { CustomerGateway } from './customer.gateway';
import { DomainEventsListener } from './domain-events.listener';
import { MessageSendHandler } from './message-send';
import { PresenceGrace } from './presence-grace.service';
import { QueuePositions } from './queue-positions';
import { SocketHub } from './server-events';
import { SocketConnections } from './socket-connections';
import { StatsPush } from './stats-push';
import { TypingRelay } from './typing-relay';

/** Socket.IO namespaces `/agent` and `/customer` and the relay of domain events to them (API.md section 8). */
@Module({
  imports: [AuthModule, ConversationsModule, AllocationModule, PresenceModule, StatisticsModule],
  providers: [SocketHub, SocketConnections, TypingRelay, PresenceGrace, QueuePositions, StatsPush, DomainEventsListener, MessageSendHandler, AgentGateway, CustomerGateway],
})
export class RealtimeModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConversationsModule } from '@cc/conversations';
import { PresenceModule } from '@cc/presence';
import { QueuesModule } from '@cc/queues';
import { AgentRelease } from './agent-release';
import { AllocationDecision } from './allocation-decision.entity';
import { AllocationDecisionsService } from './allocation-decisions.service';
import { AllocationListener } from './allocation.listener';
import { AllocationRepository } from './allocation.repository';
import { AllocationService } from './allocation.service';
import { AllocationWebhook } from './allocation-webhook';
import { CandidatesRepository } from './candidates.repository';
import { Decider } from './decider';
import { DecisionQueue } from './decision-queue';
import { Drainer } from './drainer';
import { OffersService } from './offers.service';
import { RoutingService } from './routing.service';
import { WebhookConsultation } from './webhook-consultation';

/** Owns the table `allocation_decisions`; builds on @cc/conversations, @cc/queues and @cc/presence. */
@Module({
  imports: [TypeOrmModule.forFeature([AllocationDecision]), ConversationsModule, QueuesModule, PresenceModule],
  providers: [
    AllocationRepository,
    CandidatesRepository,
    DecisionQueue,
    Decider,
    WebhookConsultation,
    AllocationService,
    Drainer,
    AgentRelease,
    AllocationDecisionsService,
    RoutingService,
    AllocationWebhook,
    AllocationListener,
    OffersService,
  ],
  exports: [AllocationService, Decider, Drainer, AllocationDecisionsService, RoutingService, OffersService],
})
export class AllocationModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConversationsModule } from '@cc/conversations';
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
import { RoutingService } from './routing.service';
import { WebhookConsultation } from './webhook-consultation';

/** Owns the table `allocation_decisions`; builds on @cc/conversations, @cc/queues and @cc/presence. */
@Module({
  imports: [TypeOrmModule.forFeature([AllocationDecision]), ConversationsModule, QueuesModule],
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
  ],
  exports: [AllocationService, Decider, Drainer, AllocationDecisionsService, RoutingService],
})
export class AllocationModule {}

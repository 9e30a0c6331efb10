import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PresenceModule } from '@cc/presence';
import { QueuesModule } from '@cc/queues';
import { AllocationDecision } from './allocation-decision.entity';
import { AllocationListener } from './allocation.listener';
import { AllocationService } from './allocation.service';
import { AllocationWebhook } from './allocation-webhook';
import { OffersRepository } from './offers.repository';
import { OffersService } from './offers.service';

@Module({
  imports: [TypeOrmModule.forFeature([AllocationDecision]), QueuesModule, PresenceModule],
  providers: [AllocationService, AllocationWebhook, AllocationListener, OffersRepository, OffersService],
  exports: [AllocationService, OffersService],
})
export class AllocationModule {}

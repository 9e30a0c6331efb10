import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QueuesModule } from '@cc/queues';
import { AllocationDecision } from './allocation-decision.entity';
import { AllocationListener } from './allocation.listener';
import { AllocationService } from './allocation.service';
import { AllocationWebhook } from './allocation-webhook';

@Module({
  imports: [TypeOrmModule.forFeature([AllocationDecision]), QueuesModule],
  providers: [AllocationService, AllocationWebhook, AllocationListener],
  exports: [AllocationService],
})
export class AllocationModule {}

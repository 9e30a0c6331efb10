import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PresenceModule } from '@cc/presence';
import { QueuesModule } from '@cc/queues';
import { Agent } from './agent.entity';
import { AgentsRepository } from './agents.repository';
import { AgentsService } from './agents.service';

/** Owns the table agents. */
@Module({
  imports: [TypeOrmModule.forFeature([Agent]), PresenceModule, QueuesModule],
  providers: [AgentsRepository, AgentsService],
  exports: [AgentsService, AgentsRepository, PresenceModule],
})
export class AgentsModule {}

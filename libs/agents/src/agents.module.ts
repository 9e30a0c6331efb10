import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PresenceModule } from '@cc/presence';
import { Agent } from './agent.entity';
import { AgentsService } from './agents.service';

@Module({
  imports: [TypeOrmModule.forFeature([Agent]), PresenceModule],
  providers: [AgentsService],
  exports: [AgentsService, PresenceModule],
})
export class AgentsModule {}

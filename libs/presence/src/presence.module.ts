import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentPresence } from './agent-presence.entity';
import { AgentStateHistory } from './agent-state-history.entity';
import { PauseReason } from './pause-reason.entity';
import { PauseReasonsService } from './pause-reasons.service';
import { PresenceRepository } from './presence.repository';
import { PresenceService } from './presence.service';
import { WrapUpService } from './wrap-up.service';

@Module({
  imports: [TypeOrmModule.forFeature([AgentPresence, AgentStateHistory, PauseReason])],
  providers: [PresenceRepository, PresenceService, WrapUpService, PauseReasonsService],
  exports: [PresenceService, PauseReasonsService],
})
export class PresenceModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentPresence } from './agent-presence.entity';
import { AgentStateHistory } from './agent-state-history.entity';
import { PauseReason } from './pause-reason.entity';
import { PauseReasonsRepository } from './pause-reasons.repository';
import { PauseReasonsService } from './pause-reasons.service';
import { SocketPresence } from './socket-presence.service';
import { PresenceRepository } from './presence.repository';
import { PresenceService } from './presence.service';
import { WrapUpService } from './wrap-up.service';

/** Owns the tables agent_presence, agent_state_history and pause_reasons. */
@Module({
  imports: [TypeOrmModule.forFeature([AgentPresence, AgentStateHistory, PauseReason])],
  providers: [PresenceRepository, PauseReasonsRepository, PresenceService, WrapUpService, PauseReasonsService, SocketPresence],
  exports: [PresenceService, PauseReasonsService, SocketPresence],
})
export class PresenceModule {}

import { Module } from '@nestjs/common';
import { PresenceModule } from '@cc/presence';
import { PauseReasonsController, PresenceByIdController, PresenceByNumberController, PresenceController } from './presence.controller';

/**
 * Import this before AgentsHttpModule: Express tries routes in registration order, and
 * `GET /agents/statuses` must be matched before `GET /agents/:id`.
 */
@Module({ imports: [PresenceModule], controllers: [PresenceController, PresenceByIdController, PresenceByNumberController, PauseReasonsController] })
export class PresenceHttpModule {}

import { Module } from '@nestjs/common';
import { PresenceModule } from '@cc/presence';
import { PauseReasonsController, PresenceController } from './presence.controller';

/**
 * Import this before AgentsHttpModule: Express tries routes in registration order, and
 * `GET /agents/statuses` must be matched before `GET /agents/:id`.
 */
@Module({ imports: [PresenceModule], controllers: [PresenceController, PauseReasonsController] })
export class PresenceHttpModule {}

import { Module } from '@nestjs/common';
import { AgentsModule } from '@cc/agents';
import { AgentsController } from './agents.controller';

@Module({ imports: [AgentsModule], controllers: [AgentsController] })
export class AgentsHttpModule {}

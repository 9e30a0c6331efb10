import { Module } from '@nestjs/common';
import { AgentsModule } from '@cc/agents';
import { AllocationModule } from '@cc/allocation';
import { AuthModule } from '@cc/auth';
import { ConversationsModule } from '@cc/conversations';
import { AllocationController } from './allocation.controller';
import { ConversationsController } from './conversations.controller';

@Module({ imports: [ConversationsModule, AllocationModule, AgentsModule, AuthModule], controllers: [ConversationsController, AllocationController] })
export class ConversationsHttpModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AllocationModule } from '@cc/allocation';
import { PresenceModule } from '@cc/presence';
import { QueuesModule } from '@cc/queues';
import { StatisticsModule } from '@cc/statistics';
import { Conversation } from './conversation.entity';
import { ConversationsService } from './conversations.service';
import { Message } from './message.entity';
import { MessagesService } from './messages.service';
import { MessageWriter } from './message-writer';

@Module({
  imports: [TypeOrmModule.forFeature([Conversation, Message]), AllocationModule, QueuesModule, PresenceModule, StatisticsModule],
  providers: [ConversationsService, MessagesService, MessageWriter],
  exports: [ConversationsService, MessagesService],
})
export class ConversationsModule {}

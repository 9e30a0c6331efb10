import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WriterPool } from '@cc/database';
import { PresenceModule } from '@cc/presence';
import { StatisticsModule } from '@cc/statistics';
import { Conversation } from './conversation.entity';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsService } from './conversations.service';
import { Message } from './message.entity';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { MessageWriter } from './message-writer';
import { StartWriter } from './start-writer';

/** Owns the tables `conversations`, `messages` and `conversation_transfers`. */
@Module({
  imports: [TypeOrmModule.forFeature([Conversation, Message]), PresenceModule, StatisticsModule],
  providers: [ConversationsRepository, MessagesRepository, ConversationsService, MessagesService, MessageWriter, StartWriter, WriterPool],
  exports: [ConversationsRepository, ConversationsService, MessagesService, StartWriter],
})
export class ConversationsModule {}

export * from './conversation.entity';
export * from './message.entity';
export * from './conversation.dto';
export * from './conversation-access';
export * from './conversations.service';
export * from './messages.service';
export * from './conversations.module';

import { IsBoolean, IsInt, IsPositive, Min } from 'class-validator';
import { ResolveConversationDto, SendMessageDto, StartConversationDto } from '@cc/conversations';

/** Socket payloads: the HTTP bodies plus the conversation id that HTTP carries in the path. */
export class StartConversationPayload extends StartConversationDto {}

export class SendMessagePayload extends SendMessageDto {
  @IsInt() @IsPositive()
  conversationId: number;
}

export class SyncMessagesPayload {
  @IsInt() @IsPositive()
  conversationId: number;

  @IsInt() @Min(0)
  afterId: number;
}

export class ResolveConversationPayload extends ResolveConversationDto {
  @IsInt() @IsPositive()
  conversationId: number;
}

export class TypingPayload {
  @IsInt() @IsPositive()
  conversationId: number;

  @IsBoolean()
  typing: boolean;
}

export class OfferPayload {
  @IsInt() @IsPositive()
  conversationId: number;
}

import { IsBoolean, IsInt, IsPositive, Max, Min } from 'class-validator';
import { MAX_ID } from '@cc/common';
import { ResolveConversationDto, SendMessageDto, StartConversationDto } from '@cc/conversations';

/** Socket payloads: the HTTP bodies plus the conversation id that HTTP carries in the path. */
export class StartConversationPayload extends StartConversationDto {}

export class SendMessagePayload extends SendMessageDto {
  @IsInt() @IsPositive() @Max(MAX_ID)
  conversationId: number;
}

export class SyncMessagesPayload {
  @IsInt() @IsPositive() @Max(MAX_ID)
  conversationId: number;

  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER)
  afterId: number;
}

export class ResolveConversationPayload extends ResolveConversationDto {
  @IsInt() @IsPositive() @Max(MAX_ID)
  conversationId: number;
}

export class TypingPayload {
  @IsInt() @IsPositive() @Max(MAX_ID)
  conversationId: number;

  @IsBoolean()
  typing: boolean;
}

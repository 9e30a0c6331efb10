import { IsBoolean, IsInt, IsPositive, Min } from 'class-validator';
import { ResolveConversationDto, SendMessageDto, StartConversationDto } from '@cc/conversations';
import type * as Wire from '@cc/protocol';

/**
 * Socket payloads: the HTTP bodies plus the conversation id that HTTP carries in the path. Each
 * implements its wire shape in `@cc/protocol`, so the validated classes and the clients' types agree.
 */
export class StartConversationPayload extends StartConversationDto implements Wire.StartConversationPayload {}

export class SendMessagePayload extends SendMessageDto implements Wire.SendMessagePayload {
  @IsInt() @IsPositive()
  conversationId: number;
}

export class SyncMessagesPayload implements Wire.SyncMessagesPayload {
  @IsInt() @IsPositive()
  conversationId: number;

  @IsInt() @Min(0)
  afterId: number;
}

export class ResolveConversationPayload extends ResolveConversationDto implements Wire.ResolveConversationPayload {
  @IsInt() @IsPositive()
  conversationId: number;
}

export class TypingPayload implements Wire.TypingPayload {
  @IsInt() @IsPositive()
  conversationId: number;

  @IsBoolean()
  typing: boolean;
}

export class OfferPayload implements Wire.OfferPayload {
  @IsInt() @IsPositive()
  conversationId: number;
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsPositive, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_ID, PaginationQuery } from '@cc/common';

const trimLower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export class StartConversationDto {
  /** `web` when omitted; agents whose skills are non-empty must list it. */
  @IsOptional() @IsString() @Length(1, 32) @Matches(/^[a-z0-9_.:-]+$/, { message: 'channel must be a short lowercase name such as web, wa, fb, line' })
  @Transform(trimLower)
  channel?: string;

  @IsOptional() @IsInt() @IsPositive() @Max(MAX_ID)
  queueId?: number;

  /** Stored as the conversation's first customer message. */
  @IsOptional() @IsString() @Length(1, 4000)
  text?: string;
}

export class SendMessageDto {
  @IsString() @Length(1, 4000)
  text: string;

  /** Makes retries safe: the same id from the same sender is stored once. */
  @IsOptional() @IsString() @Length(1, 64)
  clientMessageId?: string;
}

export class ResolveConversationDto {
  @IsOptional() @IsString() @MaxLength(4000)
  notes?: string;
}

export class TransferConversationDto {
  @IsOptional() @IsInt() @IsPositive() @Max(MAX_ID)
  agentId?: number;

  @IsOptional() @IsInt() @IsPositive() @Max(MAX_ID)
  queueId?: number;
}

export class AssignConversationDto {
  @IsInt() @IsPositive() @Max(MAX_ID)
  agentId: number;
}

export class ListConversationsQuery extends PaginationQuery {
  @IsOptional() @IsIn(['queued', 'offered', 'active', 'resolved'])
  status?: 'queued' | 'offered' | 'active' | 'resolved';

  @IsOptional() @Type(() => Number) @IsInt() @IsPositive() @Max(MAX_ID)
  agentId?: number;
}

export class MessageHistoryQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER)
  after?: number;

  @IsOptional() @Type(() => Number) @IsInt() @IsPositive() @Max(Number.MAX_SAFE_INTEGER)
  before?: number;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit: number = 50;
}

export class AllocationPreviewDto {
  @IsOptional() @IsString() @Length(1, 32) @Transform(trimLower)
  channel?: string;

  @IsOptional() @IsInt() @IsPositive() @Max(MAX_ID)
  queueId?: number;

  @IsOptional() @IsBoolean()
  ignoreAvailability?: boolean;
}

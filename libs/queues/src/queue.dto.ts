import { PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsPositive, IsString, IsUrl, Length, Matches, Max, Min, ValidateIf } from 'class-validator';
import { MAX_ID } from '@cc/common';
import { QUEUE_OVERFLOWS, QUEUE_STRATEGIES, QueueOverflow, QueueStrategy } from './queue.entity';

const lowercase = ({ value }: { value: unknown }) => (Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v)) : value);

export class CreateQueueDto {
  @IsString() @Length(1, 100) @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @IsOptional() @IsIn(QUEUE_STRATEGIES)
  strategy?: QueueStrategy;

  @IsOptional() @IsIn(QUEUE_OVERFLOWS)
  overflow?: QueueOverflow;

  /** Channels routed to this queue when a conversation names no queue. */
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) @Length(1, 32, { each: true }) @Transform(lowercase)
  channels?: string[];

  /** Larger goes first when agents of several queues free up. */
  @IsOptional() @IsInt() @Min(-1000) @Max(1000)
  priority?: number;

  @IsOptional() @ValidateIf((_, v) => v !== null) @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  webhookUrl?: string | null;

  @IsOptional() @IsInt() @Min(100) @Max(30000)
  webhookTimeoutMs?: number;

  /** 0 (default): assign directly. Else offer, and the agent has this many seconds to accept. */
  @ValidateIf((_, v) => v !== undefined) @IsInt() @Min(0) @Max(600)
  offerTimeoutSeconds?: number;

  /** A missed (expired) offer pauses the agent with the reason `Missed offer`. */
  @ValidateIf((_, v) => v !== undefined) @IsBoolean()
  pauseOnMissedOffer?: boolean;
  /** Service-level target: a conversation assigned within this many seconds of entering the line counts as answered in time. */
  @IsOptional() @IsInt() @Min(1) @Max(86400)
  slaSeconds?: number;
}

export class UpdateQueueDto extends PartialType(CreateQueueDto, { skipNullProperties: false }) {}

export class AddMemberDto {
  @IsInt() @IsPositive() @Max(MAX_ID)
  agentId: number;
}

import { PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min, ValidateBy, ValidateIf } from 'class-validator';
import { AGENT_STATES } from '@cc/presence';
import { AgentState, MAX_ID, PaginationQuery } from '@cc/common';
import { CreateAgentInput, ListAgentsInput, RoutingType } from '@cc/agents';

const CHANNEL = /^[a-z0-9_.:-]{1,32}$/;
const MAX_CHANNELS = 50;

/** `{ "<channel>": n }`: at most 50 lowercase channel names (as in `skills`), each capped at an integer 0..50. */
function IsChannelCapacity() {
  return ValidateBy({
    name: 'isChannelCapacity',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.keys(value).length <= MAX_CHANNELS &&
        Object.entries(value).every(([k, n]) => CHANNEL.test(k) && Number.isInteger(n) && n >= 0 && n <= 50),
      defaultMessage: () => `channelCapacity must be an object of at most ${MAX_CHANNELS} lowercase channel names, each with an integer 0..50`,
    },
  });
}

/** Optional, but not nullable: `null` is validated (and so refused) like any other value. */
const IsOptionalValue = () => ValidateIf((_, value) => value !== undefined);

export class CreateAgentDto implements CreateAgentInput {
  /** Stored lowercase; also the login. */
  @IsEmail() @MaxLength(254)
  email: string;

  @IsString() @Length(1, 200)
  name: string;

  @IsString() @Length(1, 200)
  password: string;

  /** Unique agent number (digits), a second key beside `id`. */
  @IsOptional() @IsString() @Matches(/^\d{1,32}$/, { message: 'number must be a string of 1 to 32 digits' })
  number?: string | null;

  /** Channels the agent serves (`web`, `wa`, ...), stored lowercase; empty means all channels. */
  @IsOptionalValue() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) @Length(1, 32, { each: true })
  @Transform(({ value }) => (Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v)) : value))
  skills?: string[];

  @IsOptionalValue() @IsInt() @Min(1) @Max(50)
  maxConcurrent?: number;

  /** Caps per channel on offered + active conversations (API.md section 12); `maxConcurrent` stays the cap over all. */
  @IsOptionalValue() @IsChannelCapacity()
  channelCapacity?: Record<string, number>;

  @IsOptionalValue() @IsInt() @Min(0) @Max(3600)
  wrapUpSeconds?: number;

  @IsOptional() @IsString() @MaxLength(100)
  manualStatus?: string | null;

  @IsOptionalValue() @IsIn(['app', 'phone'])
  routingType?: RoutingType;

  @IsOptional() @IsString() @MaxLength(32)
  phoneNumber?: string | null;

  /** The agent's queues; omitted on creation: the `default` queue. */
  @IsOptionalValue() @IsArray() @ArrayMaxSize(100) @IsInt({ each: true }) @Min(1, { each: true }) @Max(MAX_ID, { each: true })
  queueIds?: number[];
}

export class UpdateAgentDto extends PartialType(CreateAgentDto, { skipNullProperties: false }) {}

export class SetQueuesDto {
  @IsArray() @ArrayMaxSize(100) @IsInt({ each: true }) @Min(1, { each: true }) @Max(MAX_ID, { each: true })
  queueIds: number[];
}

export class ListAgentsQuery extends PaginationQuery implements ListAgentsInput {
  /** Case-insensitive substring of name, email or number. */
  @IsOptional() @IsString() @MaxLength(200)
  q?: string;

  /** Agents serving this channel (including those with no skills, who serve all). */
  @IsOptional() @IsString() @MaxLength(32)
  skill?: string;

  @IsOptional() @IsIn(AGENT_STATES)
  state?: AgentState;
}

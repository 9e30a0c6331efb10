import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsPositive, IsString, Max, MaxLength } from 'class-validator';
import { MAX_ID } from '@cc/common';
import { Interval } from './reports.repository';

export class ReportRangeQuery {
  /** Start of the range (inclusive), ISO 8601. */
  @IsISO8601({ strict: true })
  from: string;

  /** End of the range (exclusive), ISO 8601; at most 366 days after `from`. */
  @IsISO8601({ strict: true })
  to: string;
}

export class ConversationReportQuery extends ReportRangeQuery {
  @IsOptional() @IsIn(['hour', 'day'])
  interval: Interval = 'day';

  /** IANA time zone of the bucket boundaries. */
  @IsOptional() @IsString() @MaxLength(64)
  tz: string = 'UTC';

  @IsOptional() @Type(() => Number) @IsInt() @IsPositive() @Max(MAX_ID)
  queueId?: number;

  @IsOptional() @Type(() => Number) @IsInt() @IsPositive() @Max(MAX_ID)
  agentId?: number;
}

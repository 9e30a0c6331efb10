import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, ArrayUnique, IsArray, IsBoolean, IsIn, IsOptional, IsString, IsUrl, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import { PaginationQuery, WEBHOOK_EVENT_TYPES, WebhookEventType } from '@cc/common';

const URL_OPTIONS = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };
export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://example.com/hooks/contact-center' })
  @IsUrl(URL_OPTIONS) @MaxLength(2000)
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  @IsArray() @ArrayNotEmpty() @ArrayUnique() @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events: WebhookEventType[];

  @ApiPropertyOptional({ type: [String], description: 'Only events of conversations on these channels (and no agent.status.changed)' })
  @IsOptional() @IsArray() @ArrayNotEmpty() @ArrayMaxSize(100) @ArrayUnique() @IsString({ each: true }) @Matches(CHANNEL_PATTERN, { each: true })
  channels?: string[];

  @ApiPropertyOptional({ description: 'HMAC key of the signatures; random when omitted' })
  @IsOptional() @IsString() @Length(16, 200)
  secret?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional()
  @IsOptional() @IsUrl(URL_OPTIONS) @MaxLength(2000)
  url?: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  @IsOptional() @IsArray() @ArrayNotEmpty() @ArrayUnique() @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events?: WebhookEventType[];

  @ApiPropertyOptional({ type: [String], nullable: true, description: 'null: every channel' })
  @ValidateIf((_, v) => v !== null) @IsOptional() @IsArray() @ArrayNotEmpty() @ArrayMaxSize(100) @ArrayUnique() @IsString({ each: true }) @Matches(CHANNEL_PATTERN, { each: true })
  channels?: string[] | null;

  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  active?: boolean;
}

export class DeliveriesQuery extends PaginationQuery {
  @ApiPropertyOptional({ enum: ['pending', 'delivered', 'failed'] })
  @IsOptional() @IsIn(['pending', 'delivered', 'failed'])
  status?: 'pending' | 'delivered' | 'failed';
}

export class WebhookView {
  @ApiProperty() id: number;
  @ApiProperty() url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true }) events: string[];
  @ApiProperty({ type: [String], nullable: true }) channels: string[] | null;
  @ApiProperty() secret: string;
  @ApiProperty() active: boolean;
  @ApiProperty() createdAt: string;
}

export class DeliveryView {
  @ApiProperty() id: number;
  @ApiProperty({ description: 'The event id (X-Webhook-Id)' }) eventId: string;
  @ApiProperty() type: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: Number }) lastStatusCode: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError: string | null;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt: string | null;
  @ApiProperty({ nullable: true, type: String }) deliveredAt: string | null;
}

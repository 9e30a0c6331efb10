import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class InboundMessageDto {
  @ApiProperty({ description: "The end user's id on the channel (e.g. the WhatsApp phone number)", example: '+4915112345678' })
  @IsString() @Length(1, 200)
  externalId: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @Length(1, 200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional() @IsEmail() @MaxLength(254)
  email?: string;

  @ApiProperty()
  @IsString() @Length(1, 4000)
  text: string;

  @ApiProperty({ description: "The provider's id of the message: the same id again is stored once" })
  @IsString() @Length(1, 200)
  externalMessageId: string;
}

export class InboundCustomerView {
  @ApiProperty() id: number;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
  @ApiProperty({ nullable: true, type: String }) email: string | null;
  @ApiProperty() externalId: string;
}

export class InboundResultView {
  @ApiProperty({ type: InboundCustomerView }) customer: InboundCustomerView;
  @ApiProperty({ description: 'The conversation (API.md section 7)' }) conversation: object;
  @ApiProperty({ description: 'The stored customer message (API.md section 7)' }) message: object;
}

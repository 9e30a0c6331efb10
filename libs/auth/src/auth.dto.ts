import { IsEmail, IsHexadecimal, IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class LoginDto {
  @IsString() @MaxLength(254)
  email: string;

  @IsString() @Length(1, 200)
  password: string;
}

export class CustomerSessionDto {
  @IsOptional() @IsString() @Length(1, 200)
  name?: string;

  @IsOptional() @IsEmail() @MaxLength(254)
  email?: string;

  /** The customer's id in your own system; with it the session is for that (get-or-created) customer. */
  @IsOptional() @IsString() @Length(1, 200)
  externalId?: string;

  /** hex HMAC-SHA256(externalId, CUSTOMER_IDENTITY_SECRET); required with externalId unless an admin calls. */
  @IsOptional() @IsHexadecimal() @Length(64, 64)
  identityHash?: string;
}

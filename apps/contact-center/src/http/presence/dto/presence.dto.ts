import { IsBoolean, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { LoginInput } from '@cc/presence';

/** Named apart from the auth login body: schema names must be unique in the OpenAPI document. */
export class AgentLoginDto implements LoginInput {
  /** The device's extension; none for an app-only login. The device is exactly what is given. */
  @IsOptional() @IsString() @Length(1, 64)
  extension?: string;

  @IsOptional() @IsString() @Length(1, 64)
  context?: string;

  /** Log off whichever agent is logged in on this device first. */
  @IsOptional() @IsBoolean()
  force?: boolean;
}

export class PauseDto {
  /** A pause reason id; 0 means available (unpause). */
  @IsOptional() @IsInt() @Min(0) @Max(2_147_483_647)
  reasonId?: number;
}

export class WrapUpDto {
  /** Wrap-up ends this many seconds from now (0: now); omitted: the agent's wrapUpSeconds. */
  @IsOptional() @IsInt() @Min(0) @Max(3600)
  seconds?: number;
}

export class CreatePauseReasonDto {
  @IsString() @Length(1, 100)
  name: string;
}

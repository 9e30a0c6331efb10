import { createSecretKey, KeyObject } from 'crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { AuthUser, TokenPayload } from './auth-user';
import { TokenService } from './token.service';

const keys = new WeakMap<AppConfig, KeyObject>();

/**
 * The HMAC key as a KeyObject: given a string, jsonwebtoken first tries to parse it as a PEM
 * public key (and fails) on every sign and verify, which was the largest CPU cost of a request.
 */
export function jwtKey(config: AppConfig): KeyObject {
  let key = keys.get(config);
  if (!key) keys.set(config, (key = createSecretKey(Buffer.from(config.jwtSecret, 'utf8'))));
  return key;
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(@Inject(APP_CONFIG) config: AppConfig, private readonly tokens: TokenService) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: jwtKey(config) as unknown as string, ignoreExpiration: false });
  }

  validate(payload: TokenPayload): Promise<AuthUser> {
    return this.tokens.check(payload);
  }
}

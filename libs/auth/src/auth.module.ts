import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { AgentsModule } from '@cc/agents';
import { AuthRepository } from './auth.repository';
import { AuthService } from './auth.service';
import { jwtKey, JwtStrategy } from './jwt.strategy';
import { TokenService } from './token.service';
import { TokenVersionCache } from './token-version-cache';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

/** Owns the tables admins, customers and api_keys. Global: every controller's guard resolves API keys through ApiKeysService. */
@Global()
@Module({
  imports: [
    PassportModule,
    AgentsModule,
    JwtModule.registerAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => ({ secret: jwtKey(config) as unknown as string }) }),
  ],
  providers: [AuthRepository, AuthService, TokenService, TokenVersionCache, JwtStrategy, ApiKeysRepository, ApiKeysService],
  exports: [AuthService, TokenService, TokenVersionCache, ApiKeysService],
})
export class AuthModule {}

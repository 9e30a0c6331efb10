import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { AgentsModule } from '@cc/agents';
import { AuthRepository } from './auth.repository';
import { AuthService } from './auth.service';
import { jwtKey, JwtStrategy } from './jwt.strategy';
import { TokenService } from './token.service';

/** Owns the tables admins and customers. */
@Module({
  imports: [
    PassportModule,
    AgentsModule,
    JwtModule.registerAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => ({ secret: jwtKey(config) as unknown as string }) }),
  ],
  providers: [AuthRepository, AuthService, TokenService, JwtStrategy],
  exports: [AuthService, TokenService],
})
export class AuthModule {}

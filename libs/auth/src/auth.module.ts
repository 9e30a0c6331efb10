import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { Agent } from '@cc/agents';
import { Admin } from './admin.entity';
import { AuthService } from './auth.service';
import { Customer } from './customer.entity';
import { jwtKey, JwtStrategy } from './jwt.strategy';
import { TokenService } from './token.service';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

// Global: every controller's guard resolves API keys through ApiKeysService.
@Global()
@Module({
  imports: [
    PassportModule,
    TypeOrmModule.forFeature([Admin, Customer, Agent]),
    JwtModule.registerAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => ({ secret: jwtKey(config) as unknown as string }) }),
  ],
  providers: [AuthService, TokenService, JwtStrategy, ApiKeysRepository, ApiKeysService],
  exports: [AuthService, TokenService, ApiKeysService],
})
export class AuthModule {}

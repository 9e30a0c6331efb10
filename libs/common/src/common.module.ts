import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './config';
import { DomainEvents } from './domain-events';
import { PasswordHasher } from './password-hasher';
import { TransactionHooks } from './transaction-hooks';

@Global()
@Module({})
export class CommonModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CommonModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, DomainEvents, PasswordHasher, TransactionHooks],
      exports: [APP_CONFIG, DomainEvents, PasswordHasher, TransactionHooks],
    };
  }
}

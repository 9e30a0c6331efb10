import { Module } from '@nestjs/common';
import { AuthModule } from '@cc/auth';
import { AuthController, CustomersController } from './auth.controller';

@Module({ imports: [AuthModule], controllers: [AuthController, CustomersController] })
export class AuthHttpModule {}

import { Module } from '@nestjs/common';
import { DatabaseModule } from '@cc/database';
import { RedisModule } from '../../platform/redis.module';
import { HealthController } from './health.controller';

@Module({ imports: [DatabaseModule, RedisModule], controllers: [HealthController] })
export class HealthModule {}

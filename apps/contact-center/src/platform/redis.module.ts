import { Global, Module } from '@nestjs/common';
import { RedisClients } from './redis-clients';
import { RedisHealth } from './redis-health';

@Global()
@Module({ providers: [RedisClients, RedisHealth], exports: [RedisClients, RedisHealth] })
export class RedisModule {}

import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, CommonModule } from '@cc/common';
import { DatabaseModule } from '@cc/database';
import { AgentsHttpModule } from './http/agents/agents-http.module';
import { AuthHttpModule } from './http/auth/auth-http.module';
import { ConversationsHttpModule } from './http/conversations/conversations-http.module';
import { QueuesHttpModule } from './http/queues/queues-http.module';
import { HealthModule } from './http/health/health.module';
import { PresenceHttpModule } from './http/presence/presence-http.module';
import { PlatformModule } from './platform/platform.module';
import { RealtimeModule } from './realtime/realtime.module';
import { ReportsHttpModule } from './http/reports/reports-http.module';
import { StatsHttpModule } from './http/stats/stats-http.module';
import { PlatformMetricsModule } from './platform/metrics.module';
import { RedisModule } from './platform/redis.module';
import { LifecycleLog } from './lifecycle-log';
import { stdoutLogDestination } from './platform/log-destination';
import { ActorInterceptor } from './http/actor.interceptor';
import { IntegrationsHttpModule } from './http/integrations/integrations-http.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CommonModule.forRoot(config),
        PlatformModule,
        LoggerModule.forRoot({
          // Named-wildcard syntax of path-to-regexp 8 (the library's default `*` draws a deprecation warning).
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: [
            {
              level: config.logLevel,
              autoLogging: { ignore: (req) => req.url === '/metrics' || !!req.url?.startsWith('/api/v1/health') },
              redact: ['req.headers.authorization'],
            },
            // Buffered, written asynchronously (platform/log-destination.ts: the bound, and what a crash loses).
            stdoutLogDestination(),
          ],
        }),
        EventEmitterModule.forRoot(),
        ThrottlerModule.forRoot({
          throttlers: [{ name: 'unauthenticated', ttl: 60_000, limit: Math.max(config.httpRateLimit, 1) }],
          skipIf: () => config.httpRateLimit === 0,
        }),
        DatabaseModule,
        RedisModule,
        PlatformMetricsModule,
        HealthModule,
        AuthHttpModule,
        PresenceHttpModule, // before AgentsHttpModule: /agents/statuses before /agents/:id
        AgentsHttpModule,
        RealtimeModule,
        QueuesHttpModule,
        ConversationsHttpModule,
        StatsHttpModule,
        ReportsHttpModule,
        IntegrationsHttpModule,
      ],
      providers: [LifecycleLog, { provide: APP_INTERCEPTOR, useClass: ActorInterceptor }],
    };
  }
}

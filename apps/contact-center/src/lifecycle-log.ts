import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { MetricsService } from './platform/metrics.service';
import { ShutdownState } from './platform/shutdown-state';

/** The HTTP routes and socket namespaces a start-up names, as they are served. */
export function startupSummary(port: number, webUi = false): string {
  return (
    `Listening on port ${port}: HTTP API /api/v1 (health /api/v1/health), metrics /metrics, ` +
    `OpenAPI /docs (/docs-json), AsyncAPI /docs/asyncapi.json, Socket.IO namespaces /agent and /customer (path /socket.io)` +
    (webUi ? ', agent console /console/, chat widget /widget/' : '')
  );
}

/**
 * Says when a shutdown starts and what it closed, with how long it took. Provided by the root
 * module, whose destroy hook Nest calls first (before timers stop) and whose shutdown hook it
 * calls last (after the sockets, the HTTP server and the database pool are closed).
 */
@Injectable()
export class LifecycleLog implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private startedAt = performance.now();
  private sockets = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.startedAt = performance.now();
    // A graceful stop has closed its sockets already (so clients move to another instance).
    const connected = (await this.metrics.socketsConnected.get()).values.reduce((n, v) => n + v.value, 0);
    this.sockets = Math.max(connected, this.shutdown.socketsClosed);
    this.logger.log(`Shutting down (${this.sockets} sockets connected)`);
  }

  onApplicationShutdown(signal?: string): void {
    const closed = [
      `${this.sockets} sockets`,
      'the HTTP server',
      'timers and sweeps',
      this.config.databaseUrl ? 'the PostgreSQL pool' : 'the embedded database',
      ...(this.config.redisUrl ? ['Redis'] : []),
    ];
    this.logger.log(`${signal ?? 'close'}: closed ${closed.join(', ')} in ${Math.round(performance.now() - this.startedAt)} ms`);
  }
}

import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { sessionSettings, timeouts, writeLanes } from './session-settings';
import { namedQuery } from './sql';

/**
 * The message writer's own connections on PostgreSQL, one per lane (writeLanes), besides the
 * DB_POOL_SIZE of the shared pool: a message batch never waits for a pooled connection behind
 * transactions that hold them (a resolve is nine round trips, each a turn of this process's event
 * loop; at 50 resolves/s they held the whole pool and a batch waited 150–400 ms for a connection,
 * BENCHMARKS.md, Levers). The lanes take turns on these connections, so there is always one
 * free for a lane's batch. On the embedded engine (one session) the batches use the shared pool.
 * Provided by the module of the messages (ConversationsModule): one per instance.
 */
@Injectable()
export class WriterPool implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly pool: Pool | null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.pool = config.databaseUrl
      ? new Pool({ connectionString: config.databaseUrl, max: writeLanes(config), application_name: 'cc-message-writer', ...sessionSettings(), ...timeouts(config.dbTimeoutMs) })
      : null;
    // An idle connection that breaks (the server restarted, the network dropped it) is taken out
    // of the pool by pg; without a listener its error would end the process.
    this.pool?.on('error', (err) => this.logger.warn(`Message writer connection lost: ${err.message}`));
  }

  /** Connections of its own (false: the shared pool's, on the embedded engine). */
  get dedicated(): boolean {
    return this.pool !== null;
  }

  /** Runs a named prepared statement (see namedQuery) on the writer's connections. */
  async query<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    if (!this.pool) return namedQuery<T>(this.dataSource, name, text, values);
    return (await this.pool.query({ name, text, values })).rows as T[];
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end();
  }
}

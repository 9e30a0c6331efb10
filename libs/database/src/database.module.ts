import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { AfterCommitSubscriber } from './after-commit';
import { DatabaseHealth } from './database-health';
import { OutboxSubscriber } from './outbox';
import { OutboxRepository } from './outbox.repository';
import { EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { MIGRATIONS } from './migrations';

/** Owns the embedded engine when no DATABASE_URL is set, and stops it after the pool is closed. */
@Injectable()
export class DatabaseConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded: EmbeddedPostgres | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig, private readonly moduleRef: ModuleRef) {}

  get mode(): 'postgres' | 'embedded' {
    return this.config.databaseUrl ? 'postgres' : 'embedded';
  }

  async options(): Promise<TypeOrmModuleOptions> {
    let url = this.config.databaseUrl;
    if (!url) {
      this.embedded = await startEmbeddedPostgres(this.config.dataDir);
      url = this.embedded.url;
      this.logger.log(`Embedded PostgreSQL (PGlite) on ${this.config.dataDir}`);
    }
    return {
      type: 'postgres',
      url,
      autoLoadEntities: true,
      synchronize: false,
      migrations: MIGRATIONS,
      migrationsRun: true,
      migrationsTransactionMode: 'each',
      // PGlite is a single session: a second connection would interleave transactions.
      extra: { ...(this.embedded ? { max: 1, idleTimeoutMillis: 0 } : { max: this.config.dbPoolSize }), ...timeouts(this.config.dbTimeoutMs) },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource?.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
  }
}

/**
 * How many message batches may be in flight at once (MessageWriter's lanes): MESSAGE_WRITE_LANES,
 * but never more than half the pool, so the other half stays for everything else an instance
 * asks of the database (starts, allocation, reads, the outbox, health); one on the embedded
 * engine, whose single connection would only queue them.
 */
export function writeLanes(config: Pick<AppConfig, 'databaseUrl' | 'dbPoolSize' | 'messageWriteLanes'>): number {
  if (!config.databaseUrl) return 1;
  return Math.max(1, Math.min(config.messageWriteLanes, Math.floor(config.dbPoolSize / 2)));
}

/**
 * DB_TIMEOUT_MS bounds every wait on the database: a connection from the pool (or a new one),
 * and a statement. The server cancels a slow statement (statement_timeout) and the connection
 * stays usable; the client-side read timeout, a little later, covers a server that does not
 * answer at all (network stall). Either way the request gets a 503 (isDatabaseUnavailable).
 */
function timeouts(ms: number) {
  return { connectionTimeoutMillis: ms, statement_timeout: ms, query_timeout: ms + 1000, keepAlive: true };
}

@Global()
@Module({ providers: [DatabaseConnection], exports: [DatabaseConnection] })
class DatabaseConnectionModule {}

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [DatabaseConnectionModule],
      inject: [DatabaseConnection],
      useFactory: (connection: DatabaseConnection) => connection.options(),
    }),
  ],
  providers: [AfterCommitSubscriber, DatabaseHealth, OutboxSubscriber, OutboxRepository],
  exports: [TypeOrmModule, DatabaseHealth, OutboxRepository],
})
export class DatabaseModule {}

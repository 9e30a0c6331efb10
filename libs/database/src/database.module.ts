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
import { sessionSettings, timeouts } from './session-settings';

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
      extra: { ...(this.embedded ? { max: 1, idleTimeoutMillis: 0 } : { max: this.config.dbPoolSize, ...sessionSettings() }), ...timeouts(this.config.dbTimeoutMs) },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource?.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
  }
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

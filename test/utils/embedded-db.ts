import { rmSync } from 'fs';
import { DataSource } from 'typeorm';
import { MIGRATIONS, startEmbeddedPostgres } from '@cc/database';
import { tempDataDir } from './test-db';

/**
 * A migrated embedded database (PGlite) for specs that check SQL against its TypeScript twin:
 * the real schema, no server needed. One connection (PGlite is one session).
 */
export async function embeddedDataSource(): Promise<{ dataSource: DataSource; close(): Promise<void> }> {
  const dir = tempDataDir();
  const engine = await startEmbeddedPostgres(dir);
  const dataSource = new DataSource({ type: 'postgres', url: engine.url, migrations: MIGRATIONS, migrationsTransactionMode: 'each', extra: { max: 1 } });
  await dataSource.initialize();
  await dataSource.runMigrations();
  return {
    dataSource,
    async close() {
      await dataSource.destroy();
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

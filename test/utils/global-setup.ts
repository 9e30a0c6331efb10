import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../libs/database/src/migrations';
import { serverUrl, TEMPLATE_DB, TEST_DB_PREFIX, withDatabase } from './test-db';

/** Migrates a template database once; each spec file copies it (see test-db.ts). */
export default async function globalSetup(): Promise<void> {
  const url = serverUrl();
  console.log(`\ne2e database: ${url ? `PostgreSQL (${new URL(url).host})` : 'embedded PGlite'}`);
  if (!url) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const stale = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB_PREFIX}%'`);
    for (const row of stale.rows) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await client.end();
  }
  const dataSource = new DataSource({ type: 'postgres', url: withDatabase(url, TEMPLATE_DB), migrations: MIGRATIONS });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
}

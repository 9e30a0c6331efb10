import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../libs/database/src/migrations';
import { ownerPid, serverUrl, templateDb, TEST_DB_PREFIX, withDatabase } from './test-db';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Migrates a template database once; each spec file copies it (see test-db.ts). */
export default async function globalSetup(): Promise<void> {
  process.env.CC_TEST_RUN = `${process.pid}`;
  const url = serverUrl();
  console.log(`\ne2e database: ${url ? `PostgreSQL (${new URL(url).host})` : 'embedded PGlite'}`);
  if (!url) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const stale = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB_PREFIX}%'`);
    // Leftovers of runs that died; a run still going keeps its databases.
    for (const row of stale.rows) if (!alive(ownerPid(row.datname))) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${templateDb()}`);
  } finally {
    await client.end();
  }
  const dataSource = new DataSource({ type: 'postgres', url: withDatabase(url, templateDb()), migrations: MIGRATIONS });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
}

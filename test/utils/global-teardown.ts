import { Client } from 'pg';
import { runId, serverUrl, TEST_DB_PREFIX } from './test-db';

export default async function globalTeardown(): Promise<void> {
  const url = serverUrl();
  if (!url) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const dbs = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB_PREFIX}${runId()}\\_%'`);
    for (const row of dbs.rows) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

import { randomBytes } from 'crypto';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';

/** The e2e suite runs on PostgreSQL when DATABASE_URL is set, else each app gets its own embedded engine. */
/*
 * Names carry the id of the jest run (set by global-setup), so concurrent runs against one
 * server never drop each other's databases.
 */
export const TEST_DB_PREFIX = 'cc_test_';
export function runId(): string {
  return process.env.CC_TEST_RUN ?? `${process.pid}`;
}
export function templateDb(): string {
  return `${TEST_DB_PREFIX}${runId()}_template`;
}
/** The pid of the run that created a test database, from its name. */
export function ownerPid(database: string): number {
  return Number(database.slice(TEST_DB_PREFIX.length).split('_')[0]);
}

export function serverUrl(): string | null {
  return process.env.DATABASE_URL || null;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl()! });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database copied from the migrated template, so spec files cannot disturb each other. */
export async function createTestDatabase(): Promise<string> {
  const name = `${TEST_DB_PREFIX}${runId()}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${templateDb()}`);
  return withDatabase(serverUrl()!, name);
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'cc-embedded-'));
}

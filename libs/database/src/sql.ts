import { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/** Row helpers for raw SQL results (pg returns bigint and count() as strings). */
export function toInt(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function toIso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/**
 * A timestamptz expression as the text `Date.prototype.toISOString()` gives for it (UTC,
 * milliseconds truncated as pg's Date parsing truncates them, `Z`): a view can pass the column
 * on as it is, without a `Date` parsed and formatted again per value.
 */
export function isoTextSql(expr: string): string {
  return `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * A jsonb object of scalars as the text `JSON.stringify(value)` gives for the object pg parsed from
 * it: no spaces, and the keys in JavaScript's order (array-index keys first, ascending; the others
 * in jsonb's order, which is the order pg's parse saw them). For views sent as JSON text built by
 * PostgreSQL; `to_json` of the jsonb would keep jsonb's spacing and key order. Only for objects
 * whose values are numbers, strings, booleans or null (their jsonb text is already compact).
 */
export function jsonObjectTextSql(expr: string): string {
  const index = `(e.key ~ '^(0|[1-9][0-9]{0,9})$' AND e.key::bigint < 4294967295)`;
  // The empty object (most values) without the subquery: it is most of the cost.
  return `(CASE WHEN ${expr} = '{}'::jsonb THEN '{}' ELSE (SELECT coalesce('{' || string_agg(to_json(e.key)::text || ':' || e.value::text, ',' ORDER BY ${index} DESC, CASE WHEN ${index} THEN e.key::bigint END, e.ord) || '}', '{}')
    FROM jsonb_each(${expr}) WITH ORDINALITY e(key, value, ord)) END)`;
}

/** The rows of `UPDATE ... RETURNING` through `manager.query` (TypeORM answers `[rows, count]` for UPDATE and DELETE). */
export function returnedRows<T>(result: unknown): T[] {
  return Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : (result as T[]);
}

/**
 * Runs a named prepared statement on the pool (parsed and planned once per connection, not
 * once per call). TypeORM has no API for it, so the reach into its driver for the pg pool stays here.
 */
export async function namedQuery<T>(dataSource: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  const result = await pool.query({ name, text, values });
  return result.rows as T[];
}

/**
 * A read through `manager` as a named prepared statement when the manager is not bound to a
 * transaction (the data source's own: any pooled connection will do), else as an ordinary query
 * on the transaction's connection. For reads served often, whose planning costs as much as their
 * execution. `name` must always come with the same `text`.
 */
export function preparedRead<T>(manager: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  return manager.queryRunner ? manager.query(text, values) : namedQuery<T>(manager.connection, name, text, values);
}

/**
 * All the rows of a read (one snapshot), fetched `pageSize` at a time through a cursor: pg parses
 * a result as it arrives, inside one socket callback, so 10,000 rows read at once held the event
 * loop for 35–50 ms (every socket's ack waited behind it); a page is parsed in a few, and the
 * loop turns between pages. In the caller's transaction when `manager` has one (the cursor is
 * closed after), else in a transaction of its own (its commit closes the cursor).
 */
export async function readInPages<T>(manager: EntityManager, text: string, values: unknown[], pageSize: number): Promise<T[]> {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer (got ${pageSize})`);
  const read = async (tx: EntityManager) => {
    await tx.query(`DECLARE paged_read NO SCROLL CURSOR FOR ${text}`, values);
    const rows: T[] = [];
    for (;;) {
      const page: T[] = await tx.query(`FETCH ${pageSize} FROM paged_read`);
      for (const row of page) rows.push(row);
      if (page.length < pageSize) return rows;
    }
  };
  if (!manager.queryRunner?.isTransactionActive) return manager.connection.transaction(read);
  const rows = await read(manager);
  await manager.query('CLOSE paged_read');
  return rows;
}

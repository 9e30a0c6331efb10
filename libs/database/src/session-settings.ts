import { AppConfig } from '@cc/common';

/**
 * How many message batches may be in flight at once (MessageWriter's lanes): MESSAGE_WRITE_LANES,
 * but never more than half of DB_POOL_SIZE (the lanes have connections of their own, WriterPool,
 * as many as the lanes: the bound keeps what an instance opens in proportion to its setting); one
 * on the embedded engine, whose single connection would only queue them.
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
export function timeouts(ms: number) {
  return { connectionTimeoutMillis: ms, statement_timeout: ms, query_timeout: ms + 1000, keepAlive: true };
}

/**
 * Settings of every session this instance opens on PostgreSQL (the embedded engine has no JIT).
 * JIT compilation off: every statement here is short, and PostgreSQL's JIT starts on the planner's
 * cost estimate, which a LIMIT over a LATERAL walk of a long line overstates by orders of
 * magnitude; the drain's serviceable read (about 3 ms of execution with 10,000 waiting) was
 * compiled on each call, 0.6–0.9 s of PostgreSQL CPU (BENCHMARKS.md, Levers). Options given in
 * DATABASE_URL (`?options=...`) take the place of these.
 */
export function sessionSettings(): { options: string } {
  return { options: '-c jit=off' };
}

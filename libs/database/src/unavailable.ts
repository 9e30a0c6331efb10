import { DomainError } from '@cc/common';

/** The database could not be reached within DB_TIMEOUT_MS, or dropped the connection: 503, never 401 or 500. */
export class DatabaseUnavailableError extends DomainError {
  constructor(message = 'Database unavailable') {
    super('unavailable', 'DatabaseUnavailable', message);
  }
}

// SQLSTATE classes/codes that say "the server or the connection", not "your statement":
// 08 connection exception, 53300 too many connections, 57014 canceled (statement_timeout),
// 57P01..57P03 shutdown / cannot connect now.
const UNAVAILABLE_SQLSTATE = /^(08...|53300|57014|57P0[1-3])$/;
const UNAVAILABLE_SYSCALL = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// node-postgres reports its own timeouts and broken connections by message only.
const UNAVAILABLE_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end|Connection is not established|Not connected/i;

/** True when `err` (a pg error, a TypeORM wrapper of one, or a socket error) means the database is not reachable. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  for (const e of [err, (err as { driverError?: unknown })?.driverError, (err as { cause?: unknown })?.cause]) {
    if (!e || typeof e !== 'object') continue;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SYSCALL.has(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}

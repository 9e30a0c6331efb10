import { DataSource, EntityManager } from 'typeorm';

/** Keys of transaction-scoped advisory locks; one enum so no two uses collide. */
export enum LockKey {
  /** Serialises every automatic allocation decision across all instances. */
  Allocation = 7_100_001,
  AdminBootstrap = 7_100_002,
  /** One channel customer per (channel, externalId) (sub key: a hash of the pair). */
  ChannelCustomer = 7_100_013,
  /** One run of the report rollup at a time across all instances. */
  ReportRollup = 7_100_014,
}

export async function advisoryXactLock(manager: EntityManager, key: LockKey, sub = 0): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock($1, $2)', [key, sub]);
}

/** True when `err` is a PostgreSQL unique violation (optionally on the named constraint or index). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.code ?? e?.driverError?.code;
  const name = e?.constraint ?? e?.driverError?.constraint;
  return code === '23505' && (!constraint || name === constraint);
}

export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return (e?.code ?? e?.driverError?.code) === '23503';
}

const RETRYABLE = new Set(['40P01', '40001']); // deadlock detected, serialization failure

/** A transaction retried (a few times) when PostgreSQL aborts it for a deadlock or a serialization failure. */
export async function withTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction(work);
    } catch (err) {
      const e = err as { code?: string; driverError?: { code?: string } };
      if (attempt >= attempts || !RETRYABLE.has(e?.code ?? e?.driverError?.code ?? '')) throw err;
    }
  }
}

/** The lock `key` for this transaction if no other holds it (true), else false at once. */
export async function tryAdvisoryXactLock(manager: EntityManager, key: LockKey, sub = 0): Promise<boolean> {
  const [row]: { locked: boolean }[] = await manager.query('SELECT pg_try_advisory_xact_lock($1, $2) AS locked', [key, sub]);
  return row.locked;
}

/** Row helpers for raw SQL results (pg returns bigint and count() as strings). */
export function toInt(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function toIso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** The rows of `UPDATE ... RETURNING` through `manager.query` (TypeORM answers `[rows, count]` for UPDATE and DELETE). */
export function returnedRows<T>(result: unknown): T[] {
  return Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : (result as T[]);
}

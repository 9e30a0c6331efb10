import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returnedRows } from '@cc/database';

export type ApiKeyRole = 'admin' | 'connector';

export interface ApiKeyRow {
  id: number;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  created_at: Date;
}

/** Every statement on api_keys. Keys are found by the SHA-256 of the key (a unique index). */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(name: string, role: ApiKeyRole, hash: Buffer, prefix: string): Promise<ApiKeyRow> {
    const rows: ApiKeyRow[] = await this.dataSource.query(
      `INSERT INTO api_keys (name, role, key_hash, prefix) VALUES ($1, $2, $3, $4) RETURNING id, name, role, prefix, created_at`,
      [name, role, hash, prefix],
    );
    return rows[0];
  }

  /** The live key with this hash (revoked keys are never found: checked on every request, on every instance). */
  async findLive(hash: Buffer): Promise<{ id: number; role: ApiKeyRole } | null> {
    const rows: { id: number; role: ApiKeyRole }[] = await this.dataSource.query(`SELECT id, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hash]);
    return rows[0] ?? null;
  }

  async list(limit: number, offset: number): Promise<{ rows: ApiKeyRow[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.dataSource.query(`SELECT id, name, role, prefix, created_at FROM api_keys WHERE revoked_at IS NULL ORDER BY id LIMIT $1 OFFSET $2`, [limit, offset]),
      this.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL`),
    ]);
    return { rows, total: count[0].n };
  }

  /** Revokes a live key; false when there is none with that id. The row stays: events name the key as their actor. */
  async revoke(id: number): Promise<boolean> {
    const rows = returnedRows(await this.dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`, [id]));
    return rows.length > 0;
  }
}

import { Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { EntityManager } from 'typeorm';
import { Role } from '@cc/common';
import { TABLE_OF_ROLE } from './auth-user';

export const TOKEN_VERSIONS_CHANNEL = 'token_versions';

/** A `customers` row; the one row type of the table. */
export interface CustomerRow {
  id: number;
  name: string | null;
  email: string | null;
  external_id: string | null;
  token_version: number;
}

/** What login needs of an admin or an agent. */
export interface CredentialsRow {
  id: number;
  name: string;
  email: string;
  password_hash: string;
  token_version: number;
}

/**
 * Every SQL statement on `admins` and `customers` (the tables of this library), and the reads
 * over `agents` that login and token checks need (agents' writes are AgentsRepository's).
 */
@Injectable()
export class AuthRepository {
  async anyAdmin(manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await manager.query(`SELECT 1 FROM admins LIMIT 1`);
    return rows.length > 0;
  }

  /** The first admin, only when there is none (safe with several instances); answers whether it was created. */
  async createFirstAdmin(manager: EntityManager, email: string, passwordHash: string): Promise<boolean> {
    const inserted: unknown[] = await manager.query(
      `INSERT INTO admins (email, name, password_hash)
       SELECT $1, 'Administrator', $2 WHERE NOT EXISTS (SELECT 1 FROM admins)
       ON CONFLICT (email) DO NOTHING RETURNING id`,
      [email, passwordHash],
    );
    return inserted.length > 0;
  }

  /** An admin's or agent's credentials by email (`email` lowercased by the caller). */
  async credentials(manager: EntityManager, role: 'admin' | 'agent', email: string): Promise<CredentialsRow | null> {
    const rows: CredentialsRow[] = await manager.query(
      `SELECT id, name, email, password_hash, token_version FROM ${TABLE_OF_ROLE[role]} WHERE lower(email) = $1`,
      [email],
    );
    return rows[0] ?? null;
  }

  async user(manager: EntityManager, role: 'admin' | 'agent', id: number): Promise<{ id: number; name: string; email: string } | null> {
    const rows: { id: number; name: string; email: string }[] = await manager.query(`SELECT id, name, email FROM ${TABLE_OF_ROLE[role]} WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** The current token version of each of `ids` (one role); a missing id is a deleted user. */
  async tokenVersions(manager: EntityManager, role: Role, ids: number[]): Promise<Map<number, number>> {
    if (!ids.length) return new Map();
    const rows: { id: number; token_version: number }[] = await manager.query(`SELECT id, token_version FROM ${TABLE_OF_ROLE[role]} WHERE id = ANY($1::int[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.token_version]));
  }

  /** Logout of an admin or a customer (an agent's is AgentsRepository.bumpTokenVersion). */
  async bumpTokenVersion(manager: EntityManager, role: 'admin' | 'customer', id: number): Promise<void> {
    const sql =
      role === 'admin'
        ? `UPDATE admins SET token_version = token_version + 1 WHERE id = $1`
        : `UPDATE customers SET token_version = token_version + 1 WHERE id = $1`;
    await manager.query(sql, [id]);
  }

  /** On the token-version cache's own connection: notified of every bump (the trigger of migration TokenVersionNotify). */
  async listenForTokenVersions(client: Client): Promise<void> {
    await client.query(`LISTEN ${TOKEN_VERSIONS_CHANNEL}`);
  }

  /**
   * The token versions of these ids, by role, read on that connection: one round trip, which
   * orders like ping (notifications committed before it are delivered before its answer).
   */
  async tokenVersionsOn(client: Client, ids: Map<Role, number[]>): Promise<Map<Role, Map<number, number>>> {
    const roles = [...ids.keys()];
    const sql = roles.map((role, i) => `SELECT '${role}' AS role, id, token_version FROM ${TABLE_OF_ROLE[role]} WHERE id = ANY($${i + 1}::int[])`).join(' UNION ALL ');
    const { rows } = await client.query<{ role: Role; id: number; token_version: number }>(sql, roles.map((role) => ids.get(role)));
    const out = new Map<Role, Map<number, number>>(roles.map((role) => [role, new Map()]));
    for (const r of rows) out.get(r.role)!.set(r.id, r.token_version);
    return out;
  }

  /** A round trip on that connection: notifications committed before it are delivered before its answer. */
  async ping(client: Client): Promise<void> {
    await client.query('SELECT 1');
  }

  async customer(manager: EntityManager, id: number): Promise<CustomerRow | null> {
    const rows: CustomerRow[] = await manager.query(`SELECT id, name, email, external_id, token_version FROM customers WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async createAnonymousCustomer(manager: EntityManager, name: string | null, email: string | null): Promise<CustomerRow> {
    const [row]: CustomerRow[] = await manager.query(
      `INSERT INTO customers (name, email, token_version) VALUES ($1, $2, 0) RETURNING id, name, email, external_id, token_version`,
      [name, email],
    );
    return row;
  }

  /** Get-or-create by external id in one statement, so concurrent sessions for one externalId give one customer. */
  async upsertIdentifiedCustomer(manager: EntityManager, externalId: string, name: string | null, email: string | null): Promise<number> {
    const rows: { id: number }[] = await manager.query(
      `INSERT INTO customers (external_id, name, email) VALUES ($1, $2, $3)
       ON CONFLICT (external_id) DO UPDATE
         SET name = coalesce(EXCLUDED.name, customers.name), email = coalesce(EXCLUDED.email, customers.email), updated_at = now()
       RETURNING id`,
      [externalId, name, email],
    );
    return rows[0].id;
  }
}

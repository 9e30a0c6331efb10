import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each instance caches token versions (libs/auth/src/token-version-cache.ts) and drops an entry on
 * the notification `token_versions` ('<role>:<id>'). A trigger sends it, so that every bump of
 * `token_version` (logout, logout-all, password change) and every deletion of a user notifies in
 * the same transaction, whichever statement made it: PostgreSQL delivers it at commit.
 */
export class TokenVersionNotify1763886110000 implements MigrationInterface {
  name = 'TokenVersionNotify1763886110000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION token_version_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('token_versions', TG_ARGV[0] || ':' || OLD.id);
        RETURN NULL;
      END $$`);
    for (const [table, role] of [
      ['admins', 'admin'],
      ['agents', 'agent'],
      ['customers', 'customer'],
    ]) {
      await q.query(`
        CREATE TRIGGER ${table}_token_version_notify AFTER UPDATE OF token_version ON ${table}
        FOR EACH ROW WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version) EXECUTE FUNCTION token_version_notify('${role}')`);
      await q.query(`CREATE TRIGGER ${table}_deleted_notify AFTER DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION token_version_notify('${role}')`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['admins', 'agents', 'customers']) {
      await q.query(`DROP TRIGGER ${table}_token_version_notify ON ${table}`);
      await q.query(`DROP TRIGGER ${table}_deleted_notify ON ${table}`);
    }
    await q.query(`DROP FUNCTION token_version_notify()`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `waiting_since` is NULL until a conversation joins the waiting line, which happens under the
 * allocation lock: the line's order is then the order of joining, whatever the order of commits.
 */
export class WaitStartsInLine1763885100000 implements MigrationInterface {
  name = 'WaitStartsInLine1763885100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversations ALTER COLUMN waiting_since DROP NOT NULL, ALTER COLUMN waiting_since DROP DEFAULT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE conversations SET waiting_since = created_at WHERE waiting_since IS NULL`);
    await q.query(`ALTER TABLE conversations ALTER COLUMN waiting_since SET DEFAULT now(), ALTER COLUMN waiting_since SET NOT NULL`);
  }
}

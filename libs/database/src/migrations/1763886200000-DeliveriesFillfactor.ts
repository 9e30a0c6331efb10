import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A claim updates a delivery's attempts and lease, neither indexed: with room left on its page
 * the new row version stays there (a HOT update) and none of the table's six indexes gets a new
 * entry. Freshly inserted deliveries filled their pages, so every claim wrote six index entries.
 */
export class DeliveriesFillfactor1763886200000 implements MigrationInterface {
  name = 'DeliveriesFillfactor1763886200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries SET (fillfactor = 60)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries RESET (fillfactor)`);
  }
}

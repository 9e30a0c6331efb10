import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The conversation report's rollup (docs/statistics.md, "Rollup"): per 15-minute slot and queue,
 * the additive measures of the events of resolved conversations, up to a watermark. Sums are
 * numeric (exact), so adding slots gives the same figures as summing the rows themselves.
 * The watermark is a time and a conversation id: conversations inserted later with past times
 * (an import) have higher ids and stay raw until the job reaches them.
 */
export class ReportRollup1763885800000 implements MigrationInterface {
  name = 'ReportRollup1763885800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversation_report_slots (
        slot timestamptz NOT NULL,
        queue_id integer NOT NULL,
        started integer NOT NULL DEFAULT 0,
        assigned integer NOT NULL DEFAULT 0,
        wait_sum numeric NOT NULL DEFAULT 0,
        wait_max numeric,
        in_sla integer NOT NULL DEFAULT 0,
        sla_seconds integer,
        resolved integer NOT NULL DEFAULT 0,
        abandoned integer NOT NULL DEFAULT 0,
        handle_sum numeric NOT NULL DEFAULT 0,
        handled integer NOT NULL DEFAULT 0,
        response_sum numeric NOT NULL DEFAULT 0,
        responded integer NOT NULL DEFAULT 0,
        transferred integer NOT NULL DEFAULT 0,
        PRIMARY KEY (slot, queue_id)
      )`);
    await q.query(`CREATE INDEX conversation_report_slots_queue ON conversation_report_slots (queue_id, slot)`);
    await q.query(`
      CREATE TABLE conversation_report_watermark (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        rolled_until timestamptz NOT NULL DEFAULT '-infinity',
        rolled_id integer NOT NULL DEFAULT 0,
        candidate_id integer,
        candidate_at timestamptz
      )`);
    await q.query(`INSERT INTO conversation_report_watermark DEFAULT VALUES`);
    // The report finds the transfers of the conversations not rolled up yet by their conversation.
    await q.query(`CREATE INDEX conversation_transfers_conversation ON conversation_transfers (conversation_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX conversation_transfers_conversation`);
    await q.query(`DROP TABLE conversation_report_watermark`);
    await q.query(`DROP TABLE conversation_report_slots`);
  }
}

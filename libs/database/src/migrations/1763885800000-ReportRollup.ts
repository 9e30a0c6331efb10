import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The conversation report's rollup (docs/statistics.md, "Rollup"): per 15-minute slot, for all
 * queues together and per queue, the additive measures of the events of resolved conversations, up
 * to a watermark. Durations are summed in whole microseconds (exact), so adding slots gives the
 * same figures as summing the rows themselves. The watermark is a time and a conversation id:
 * conversations inserted later with past times (an import) have higher ids and stay raw until the
 * job reaches them.
 */
export class ReportRollup1763885800000 implements MigrationInterface {
  name = 'ReportRollup1763885800000';

  async up(q: QueryRunner): Promise<void> {
    const measures = `
        started integer NOT NULL DEFAULT 0,
        assigned integer NOT NULL DEFAULT 0,
        wait_us bigint NOT NULL DEFAULT 0,
        wait_max_us bigint,
        in_sla integer NOT NULL DEFAULT 0,
        resolved integer NOT NULL DEFAULT 0,
        abandoned integer NOT NULL DEFAULT 0,
        handle_us bigint NOT NULL DEFAULT 0,
        handled integer NOT NULL DEFAULT 0,
        response_us bigint NOT NULL DEFAULT 0,
        responded integer NOT NULL DEFAULT 0,
        transferred integer NOT NULL DEFAULT 0`;
    await q.query(`CREATE TABLE conversation_report_totals (slot timestamptz PRIMARY KEY, ${measures})`);
    await q.query(`CREATE TABLE conversation_report_slots (slot timestamptz NOT NULL, queue_id integer NOT NULL, ${measures}, PRIMARY KEY (queue_id, slot))`);
    // The service-level target every slot of the queue was counted with (NULL: several, a recount is due).
    await q.query(`CREATE TABLE conversation_report_queues (queue_id integer PRIMARY KEY, sla_seconds integer)`);
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
    await q.query(`DROP TABLE conversation_report_queues`);
    await q.query(`DROP TABLE conversation_report_slots`);
    await q.query(`DROP TABLE conversation_report_totals`);
  }
}

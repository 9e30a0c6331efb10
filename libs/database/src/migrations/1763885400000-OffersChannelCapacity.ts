import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Offers (API.md section 11) and capacity per channel (section 12).
 * - queues: `offer_timeout_seconds` (0 = direct assignment) and `pause_on_missed_offer`.
 * - conversations: status `offered` (the agent is `agent_id`, the deadline `offer_expires_at`, in
 *   the database so that every instance can end it), and the agents that declined or missed it.
 * - agents: `channel_capacity`, `{ "<channel>": n }`.
 * An offered conversation holds a slot: the indexes that count an agent's load cover it.
 */
export class OffersChannelCapacity1763885400000 implements MigrationInterface {
  name = 'OffersChannelCapacity1763885400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE queues
        ADD COLUMN offer_timeout_seconds integer NOT NULL DEFAULT 0 CHECK (offer_timeout_seconds BETWEEN 0 AND 600),
        ADD COLUMN pause_on_missed_offer boolean NOT NULL DEFAULT true`);
    await q.query(`ALTER TABLE agents ADD COLUMN channel_capacity jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(channel_capacity) = 'object')`);
    await q.query(`ALTER TABLE conversations DROP CONSTRAINT conversations_status_check`);
    await q.query(`
      ALTER TABLE conversations
        ADD CONSTRAINT conversations_status_check CHECK (status IN ('queued', 'offered', 'active', 'resolved')),
        ADD COLUMN offer_expires_at timestamptz,
        ADD COLUMN offer_passed_agent_ids integer[] NOT NULL DEFAULT '{}',
        ADD CONSTRAINT conversations_offer_check CHECK (status <> 'offered' OR (agent_id IS NOT NULL AND offer_expires_at IS NOT NULL))`);
    await q.query(`DROP INDEX conversations_one_open_per_customer`);
    await q.query(`
      CREATE UNIQUE INDEX conversations_one_open_per_customer ON conversations (customer_id)
      WHERE status IN ('queued', 'offered', 'active')`);
    await q.query(`CREATE INDEX conversations_agent_load ON conversations (agent_id, channel) WHERE status IN ('offered', 'active')`);
    await q.query(`CREATE INDEX conversations_offer_deadline ON conversations (offer_expires_at) WHERE status = 'offered'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE conversations SET status = 'queued', agent_id = NULL WHERE status = 'offered'`);
    await q.query(`DROP INDEX conversations_offer_deadline`);
    await q.query(`DROP INDEX conversations_agent_load`);
    await q.query(`DROP INDEX conversations_one_open_per_customer`);
    await q.query(`CREATE UNIQUE INDEX conversations_one_open_per_customer ON conversations (customer_id) WHERE status IN ('queued', 'active')`);
    await q.query(`
      ALTER TABLE conversations
        DROP CONSTRAINT conversations_offer_check,
        DROP COLUMN offer_passed_agent_ids,
        DROP COLUMN offer_expires_at,
        DROP CONSTRAINT conversations_status_check`);
    await q.query(`ALTER TABLE conversations ADD CONSTRAINT conversations_status_check CHECK (status IN ('queued', 'active', 'resolved'))`);
    await q.query(`ALTER TABLE agents DROP COLUMN channel_capacity`);
    await q.query(`ALTER TABLE queues DROP COLUMN pause_on_missed_offer, DROP COLUMN offer_timeout_seconds`);
  }
}

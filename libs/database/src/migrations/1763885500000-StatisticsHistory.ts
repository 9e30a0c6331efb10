import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the statistics and reports (API.md section 13) count, recorded by the statements that make
 * each change: the first assignment and the first agent reply on the conversation, each transfer
 * in an append-only table, and the queue's service-level target. Indexes serve the range queries.
 */
export class StatisticsHistory1763885500000 implements MigrationInterface {
  name = 'StatisticsHistory1763885500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE queues ADD COLUMN sla_seconds integer NOT NULL DEFAULT 60 CHECK (sla_seconds BETWEEN 1 AND 86400)`);
    await q.query(`
      ALTER TABLE conversations
        ADD COLUMN first_assigned_at timestamptz,
        ADD COLUMN first_response_at timestamptz,
        ADD COLUMN first_response_agent_id integer`);
    // Conversations assigned before this migration: their current assignment is the best record left.
    await q.query(`UPDATE conversations SET first_assigned_at = assigned_at WHERE assigned_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE conversation_transfers (
        id bigserial PRIMARY KEY,
        conversation_id integer NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT now(),
        from_agent_id integer,
        to_agent_id integer,
        from_queue_id integer NOT NULL,
        to_queue_id integer NOT NULL
      )`);
    await q.query(`CREATE INDEX conversation_transfers_at ON conversation_transfers (at)`);
    await q.query(`CREATE INDEX conversation_transfers_from_agent ON conversation_transfers (from_agent_id, at)`);
    await q.query(`CREATE INDEX conversations_open_by_queue ON conversations (queue_id, status) WHERE status <> 'resolved'`);
    await q.query(`CREATE INDEX conversations_created_at ON conversations (created_at)`);
    await q.query(`CREATE INDEX conversations_first_assigned_at ON conversations (first_assigned_at) WHERE first_assigned_at IS NOT NULL`);
    await q.query(`CREATE INDEX conversations_queue_first_assigned ON conversations (queue_id, first_assigned_at) WHERE first_assigned_at IS NOT NULL`);
    await q.query(`CREATE INDEX conversations_resolved_at ON conversations (resolved_at) WHERE resolved_at IS NOT NULL`);
    await q.query(`CREATE INDEX conversations_first_response_at ON conversations (first_response_at) WHERE first_response_at IS NOT NULL`);
    await q.query(`CREATE INDEX conversations_agent_resolved ON conversations (agent_id, resolved_at) WHERE resolved_at IS NOT NULL`);
    await q.query(`CREATE INDEX allocation_decisions_agent_at ON allocation_decisions (agent_id, at) WHERE agent_id IS NOT NULL`);
    await q.query(`CREATE INDEX agent_state_history_at ON agent_state_history (at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'agent_state_history_at',
      'allocation_decisions_agent_at',
      'conversations_agent_resolved',
      'conversations_first_response_at',
      'conversations_resolved_at',
      'conversations_queue_first_assigned',
      'conversations_first_assigned_at',
      'conversations_created_at',
      'conversations_open_by_queue',
    ]) {
      await q.query(`DROP INDEX ${index}`);
    }
    await q.query(`DROP TABLE conversation_transfers`);
    await q.query(`ALTER TABLE conversations DROP COLUMN first_assigned_at, DROP COLUMN first_response_at, DROP COLUMN first_response_agent_id`);
    await q.query(`ALTER TABLE queues DROP COLUMN sla_seconds`);
  }
}

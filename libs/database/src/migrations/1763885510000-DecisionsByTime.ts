import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The agents report counts an agent's decisions (assignments, missed offers) in a time range over
 * all agents at once: it needs the decisions by time, not by agent first (with 10,000 agents the
 * (agent_id, at) index made it scan the whole table).
 */
export class DecisionsByTime1763885510000 implements MigrationInterface {
  name = 'DecisionsByTime1763885510000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS allocation_decisions_agent_at`);
    await q.query(`CREATE INDEX allocation_decisions_at ON allocation_decisions (at) WHERE agent_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX allocation_decisions_at`);
    await q.query(`CREATE INDEX allocation_decisions_agent_at ON allocation_decisions (agent_id, at) WHERE agent_id IS NOT NULL`);
  }
}

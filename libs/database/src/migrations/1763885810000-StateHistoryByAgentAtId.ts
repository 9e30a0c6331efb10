import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The agents report reads each agent's last state before the range: ordered by (at, id), so the
 * index must hold id too, else each of 10,000 agents sorts its rows with the same time.
 */
export class StateHistoryByAgentAtId1763885810000 implements MigrationInterface {
  name = 'StateHistoryByAgentAtId1763885810000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX agent_state_history_agent_at_id ON agent_state_history (agent_id, at, id)`);
    await q.query(`DROP INDEX agent_state_history_agent`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX agent_state_history_agent ON agent_state_history (agent_id, at)`);
    await q.query(`DROP INDEX agent_state_history_agent_at_id`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents' `stats` count each agent's conversations by status. On (agent_id, id) every counted
 * conversation was a heap fetch (100 agents × 500 conversations: ~50,000 pages per
 * `GET /agents?limit=100`); on (agent_id, status) the counts are an index-only scan.
 */
export class AgentStatsIndexOnly1763885700000 implements MigrationInterface {
  name = 'AgentStatsIndexOnly1763885700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX conversations_agent_status ON conversations (agent_id, status)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX conversations_agent_status`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents' `stats` (total / active / resolved conversations) as counters, so that `GET /agents`
 * reads one row per agent instead of counting every conversation the agent ever had.
 *
 * The counters are kept by triggers on `conversations`: every write that changes a row's agent or
 * status (an insert, an assignment, an offer, a transfer to another agent or queue, a resolve, a
 * delete, the `SET NULL` of a deleted agent) changes them in the same transaction, whichever
 * library or statement made it. The triggers are deferred to the commit: a transaction locks
 * counter rows last, after every presence, conversation or queue row it needed, so the counters
 * add no lock-order conflict (a resolve locks the conversation and then the agent's presence, a
 * logoff the presence and then the agent's conversations). A write touching two agents (a
 * transfer) updates their counter rows in ascending agent id order.
 */
export class AgentConversationCounts1763886100000 implements MigrationInterface {
  name = 'AgentConversationCounts1763886100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_conversation_counts (
        agent_id integer PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
        total integer NOT NULL DEFAULT 0,
        active integer NOT NULL DEFAULT 0,
        resolved integer NOT NULL DEFAULT 0
      )`);
    // An agent deleted in this transaction (its conversations SET NULL) gets no row back.
    await q.query(`
      CREATE FUNCTION agent_conversation_counts_add(agent integer, d_total integer, d_active integer, d_resolved integer) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO agent_conversation_counts AS n (agent_id, total, active, resolved)
        SELECT agent, d_total, d_active, d_resolved WHERE EXISTS (SELECT 1 FROM agents WHERE id = agent)
        ON CONFLICT (agent_id) DO UPDATE
        SET total = n.total + excluded.total, active = n.active + excluded.active, resolved = n.resolved + excluded.resolved
      $$`);
    await q.query(`
      CREATE FUNCTION agent_conversation_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        old_agent integer := CASE WHEN TG_OP <> 'INSERT' THEN OLD.agent_id END;
        new_agent integer := CASE WHEN TG_OP <> 'DELETE' THEN NEW.agent_id END;
        old_active integer := CASE WHEN TG_OP <> 'INSERT' AND OLD.status = 'active' THEN 1 ELSE 0 END;
        old_resolved integer := CASE WHEN TG_OP <> 'INSERT' AND OLD.status = 'resolved' THEN 1 ELSE 0 END;
        new_active integer := CASE WHEN TG_OP <> 'DELETE' AND NEW.status = 'active' THEN 1 ELSE 0 END;
        new_resolved integer := CASE WHEN TG_OP <> 'DELETE' AND NEW.status = 'resolved' THEN 1 ELSE 0 END;
      BEGIN
        IF old_agent IS NOT DISTINCT FROM new_agent THEN
          IF new_agent IS NOT NULL THEN
            PERFORM agent_conversation_counts_add(new_agent, 0, new_active - old_active, new_resolved - old_resolved);
          END IF;
        ELSIF new_agent IS NULL OR (old_agent IS NOT NULL AND old_agent < new_agent) THEN
          IF old_agent IS NOT NULL THEN PERFORM agent_conversation_counts_add(old_agent, -1, -old_active, -old_resolved); END IF;
          IF new_agent IS NOT NULL THEN PERFORM agent_conversation_counts_add(new_agent, 1, new_active, new_resolved); END IF;
        ELSE
          PERFORM agent_conversation_counts_add(new_agent, 1, new_active, new_resolved);
          IF old_agent IS NOT NULL THEN PERFORM agent_conversation_counts_add(old_agent, -1, -old_active, -old_resolved); END IF;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER conversations_agent_counts_insert AFTER INSERT ON conversations
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.agent_id IS NOT NULL) EXECUTE FUNCTION agent_conversation_counts_apply()`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER conversations_agent_counts_update AFTER UPDATE OF agent_id, status ON conversations
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.agent_id IS DISTINCT FROM NEW.agent_id OR OLD.status IS DISTINCT FROM NEW.status)
      EXECUTE FUNCTION agent_conversation_counts_apply()`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER conversations_agent_counts_delete AFTER DELETE ON conversations
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.agent_id IS NOT NULL) EXECUTE FUNCTION agent_conversation_counts_apply()`);
    // CREATE TRIGGER holds a lock on conversations that blocks writes until this migration commits: none falls between the count and the triggers.
    await q.query(`
      INSERT INTO agent_conversation_counts (agent_id, total, active, resolved)
      SELECT agent_id, count(*), count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'resolved')
      FROM conversations WHERE agent_id IS NOT NULL GROUP BY agent_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER conversations_agent_counts_insert ON conversations`);
    await q.query(`DROP TRIGGER conversations_agent_counts_update ON conversations`);
    await q.query(`DROP TRIGGER conversations_agent_counts_delete ON conversations`);
    await q.query(`DROP FUNCTION agent_conversation_counts_apply()`);
    await q.query(`DROP FUNCTION agent_conversation_counts_add(integer, integer, integer, integer)`);
    await q.query(`DROP TABLE agent_conversation_counts`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The slots each agent holds (its offered + active conversations), per channel, kept by a trigger
 * on `conversations` so that every write path (assignment, offer, accept, decline, expiry,
 * transfer, resolve, release, SQL seeding) keeps them right by construction, in the writing
 * transaction. A decision then reads one small row per member under the allocation lock instead
 * of counting each member's conversations (1,000 members: one count each per decision).
 */
export class AgentHeldSlots1763886000000 implements MigrationInterface {
  name = 'AgentHeldSlots1763886000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_held_slots (
        agent_id integer NOT NULL,
        channel text NOT NULL,
        held integer NOT NULL CHECK (held >= 0),
        PRIMARY KEY (agent_id, channel)
      )`);
    await q.query(`
      CREATE FUNCTION conversations_hold_slots() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        was boolean := false;
        now_held boolean := false;
      BEGIN
        IF TG_OP <> 'INSERT' THEN was := OLD.agent_id IS NOT NULL AND OLD.status IN ('offered', 'active'); END IF;
        IF TG_OP <> 'DELETE' THEN now_held := NEW.agent_id IS NOT NULL AND NEW.status IN ('offered', 'active'); END IF;
        IF was AND now_held AND OLD.agent_id = NEW.agent_id AND OLD.channel = NEW.channel THEN
          RETURN NULL;
        END IF;
        IF was THEN
          UPDATE agent_held_slots SET held = held - 1 WHERE agent_id = OLD.agent_id AND channel = OLD.channel;
        END IF;
        IF now_held THEN
          INSERT INTO agent_held_slots (agent_id, channel, held) VALUES (NEW.agent_id, NEW.channel, 1)
          ON CONFLICT (agent_id, channel) DO UPDATE SET held = agent_held_slots.held + 1;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER conversations_hold_slots AFTER INSERT OR DELETE OR UPDATE OF status, agent_id, channel ON conversations
      FOR EACH ROW EXECUTE FUNCTION conversations_hold_slots()`);
    // TRUNCATE fires no row trigger: emptying conversations empties the counters with it.
    await q.query(`
      CREATE FUNCTION conversations_truncate_held_slots() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        TRUNCATE agent_held_slots;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER conversations_truncate_held_slots AFTER TRUNCATE ON conversations FOR EACH STATEMENT EXECUTE FUNCTION conversations_truncate_held_slots()`);
    await q.query(`
      INSERT INTO agent_held_slots (agent_id, channel, held)
      SELECT agent_id, channel, count(*)::int FROM conversations
      WHERE agent_id IS NOT NULL AND status IN ('offered', 'active') GROUP BY agent_id, channel`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER conversations_truncate_held_slots ON conversations`);
    await q.query(`DROP FUNCTION conversations_truncate_held_slots()`);
    await q.query(`DROP TRIGGER conversations_hold_slots ON conversations`);
    await q.query(`DROP FUNCTION conversations_hold_slots()`);
    await q.query(`DROP TABLE agent_held_slots`);
  }
}

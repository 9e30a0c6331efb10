import { MigrationInterface, QueryRunner } from 'typeorm';

export class MessagesAllocation1763885000000 implements MigrationInterface {
  name = 'MessagesAllocation1763885000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE messages (
        id bigserial PRIMARY KEY,
        conversation_id integer NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        sender_type varchar(10) NOT NULL CHECK (sender_type IN ('customer', 'agent', 'system')),
        sender_id integer,
        text text NOT NULL,
        client_message_id varchar(64),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // A retried send with the same clientMessageId from the same sender is never stored twice.
    await q.query(`
      CREATE UNIQUE INDEX messages_client_message_uq ON messages (conversation_id, sender_type, sender_id, client_message_id)
      WHERE client_message_id IS NOT NULL`);
    await q.query(`CREATE INDEX messages_conversation ON messages (conversation_id, id)`);
    await q.query(`
      CREATE TABLE allocation_decisions (
        id bigserial PRIMARY KEY,
        conversation_id integer NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT now(),
        trigger varchar(40) NOT NULL,
        strategy varchar(20) NOT NULL,
        candidates jsonb NOT NULL DEFAULT '[]',
        outcome varchar(20) NOT NULL,
        agent_id integer
      )`);
    await q.query(`CREATE INDEX allocation_decisions_conversation ON allocation_decisions (conversation_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE allocation_decisions`);
    await q.query(`DROP TABLE messages`);
  }
}

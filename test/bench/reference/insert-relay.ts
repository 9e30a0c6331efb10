/**
 * Reference (b): the bare relay plus one PostgreSQL `INSERT ... RETURNING` per message, each on
 * its own (implicit) transaction, committed before the ack and the push. See relay.ts.
 *
 * Uses DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test, in a schema of its own
 * (bench_ref_<pid>) that it drops when stopped.
 */
import { existsSync } from 'fs';
import { Pool } from 'pg';
import { startRelay } from './relay';

const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_ref_${process.pid}`;
const pool = new Pool({ connectionString: url, max: Number(process.env.REF_POOL_SIZE ?? 10) });

interface Row {
  id: string;
  created_at: Date;
}

/** Drops the schemas of earlier relays that were killed before they could clean up. */
async function dropStaleSchemas(): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(`SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'bench\\_ref\\_%'`);
  for (const { name } of rows) {
    if (!existsSync(`/proc/${name.slice('bench_ref_'.length)}`)) await pool.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  }
}

async function main(): Promise<void> {
  await dropStaleSchemas();
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.messages (
    id bigserial PRIMARY KEY,
    conversation_id integer NOT NULL,
    sender_type text NOT NULL,
    sender_id integer NOT NULL,
    text text NOT NULL,
    client_message_id text,
    created_at timestamptz NOT NULL DEFAULT now()
  )`);
  const insert = `INSERT INTO ${schema}.messages (conversation_id, sender_type, sender_id, text, client_message_id)
    VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`;

  await startRelay(
    async (message) => {
      const { rows } = await pool.query<Row>({
        name: 'insert-message',
        text: insert,
        values: [message.conversationId, message.senderType, message.senderId, message.text, message.clientMessageId],
      });
      return { ...message, id: Number(rows[0].id), createdAt: rows[0].created_at.toISOString() };
    },
    async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pool.end();
    },
  );
}

main().catch((error) => {
  process.stderr.write(`insert-relay: ${error instanceof Error ? error.stack : String(error)}\n`);
  void pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => process.exit(1));
});

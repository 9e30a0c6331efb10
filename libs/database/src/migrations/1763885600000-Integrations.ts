import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys, event webhooks with their transactional outbox, channel connectors (API.md section 14). */
export class Integrations1763885600000 implements MigrationInterface {
  name = 'Integrations1763885600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id serial PRIMARY KEY,
        name varchar(200) NOT NULL,
        role varchar(20) NOT NULL CHECK (role IN ('admin', 'connector')),
        key_hash bytea NOT NULL,
        prefix varchar(16) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    // A request finds its key by the SHA-256 of the key: one index probe, no scan, no slow hash.
    await q.query(`CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash)`);
    await q.query(`
      CREATE TABLE webhooks (
        id serial PRIMARY KEY,
        url varchar(2000) NOT NULL,
        events text[] NOT NULL,
        channels text[],
        secret varchar(200) NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE outbox_events (
        id bigserial PRIMARY KEY,
        uid uuid NOT NULL DEFAULT gen_random_uuid(),
        type varchar(40) NOT NULL,
        conversation_id integer,
        channel varchar(32),
        actor jsonb NOT NULL,
        data jsonb NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        event_id bigint NOT NULL REFERENCES outbox_events(id) ON DELETE CASCADE,
        webhook_id integer NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        conversation_id integer,
        status varchar(10) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        leased_until timestamptz,
        last_status_code integer,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`);
    // "Is an earlier event of this conversation still pending for this webhook?"
    await q.query(`CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, conversation_id, event_id) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, id)`);
    await q.query(`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)`);
    await q.query(`CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at) WHERE status = 'delivered'`);
    await q.query(`
      CREATE TABLE channel_customers (
        channel varchar(32) NOT NULL,
        external_id varchar(200) NOT NULL,
        customer_id integer NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        PRIMARY KEY (channel, external_id)
      )`);
    await q.query(`CREATE INDEX channel_customers_customer ON channel_customers (customer_id)`);
    // The same provider message posted twice (or ten times at once) is stored once.
    await q.query(`
      CREATE TABLE channel_messages (
        channel varchar(32) NOT NULL,
        external_message_id varchar(200) NOT NULL,
        message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        PRIMARY KEY (channel, external_message_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE channel_messages`);
    await q.query(`DROP TABLE channel_customers`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE outbox_events`);
    await q.query(`DROP TABLE webhooks`);
    await q.query(`DROP TABLE api_keys`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

export class AgentsPresenceQueues1763884900000 implements MigrationInterface {
  name = 'AgentsPresenceQueues1763884900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agents (
        id serial PRIMARY KEY,
        email varchar(254) NOT NULL UNIQUE,
        name varchar(200) NOT NULL,
        password_hash text NOT NULL,
        number varchar(32) UNIQUE,
        skills text[] NOT NULL DEFAULT '{}',
        max_concurrent integer NOT NULL DEFAULT 2 CHECK (max_concurrent BETWEEN 1 AND 50),
        wrap_up_seconds integer NOT NULL DEFAULT 0 CHECK (wrap_up_seconds BETWEEN 0 AND 3600),
        manual_status varchar(100),
        routing_type varchar(10) NOT NULL DEFAULT 'app' CHECK (routing_type IN ('app', 'phone')),
        phone_number varchar(32),
        token_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE pause_reasons (
        id serial PRIMARY KEY,
        name varchar(100) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE agent_presence (
        agent_id integer PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
        logged boolean NOT NULL DEFAULT false,
        extension varchar(64),
        context varchar(64),
        paused boolean NOT NULL DEFAULT false,
        pause_reason_id integer REFERENCES pause_reasons(id) ON DELETE SET NULL,
        wrap_up_until timestamptz,
        logged_at timestamptz,
        last_assigned_at timestamptz,
        socket_seen boolean NOT NULL DEFAULT false,
        disconnected_since timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One logged-in agent per device (extension@context).
    await q.query(`
      CREATE UNIQUE INDEX agent_presence_device_uq ON agent_presence (extension, coalesce(context, ''))
      WHERE logged AND extension IS NOT NULL`);
    await q.query(`
      CREATE TABLE agent_state_history (
        id bigserial PRIMARY KEY,
        agent_id integer NOT NULL,
        from_state varchar(16) NOT NULL,
        to_state varchar(16) NOT NULL,
        reason varchar(64) NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX agent_state_history_agent ON agent_state_history (agent_id, at)`);
    await q.query(`
      CREATE TABLE queues (
        id serial PRIMARY KEY,
        name varchar(100) NOT NULL UNIQUE,
        strategy varchar(20) NOT NULL DEFAULT 'least-busy' CHECK (strategy IN ('least-busy', 'longest-idle', 'round-robin')),
        overflow varchar(20) NOT NULL DEFAULT 'wait' CHECK (overflow IN ('wait', 'overflow-online', 'overflow-any')),
        channels text[] NOT NULL DEFAULT '{}',
        priority integer NOT NULL DEFAULT 0,
        webhook_url text,
        webhook_timeout_ms integer NOT NULL DEFAULT 3000,
        last_assigned_agent_id integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO queues (name) VALUES ('default')`);
    await q.query(`
      CREATE TABLE queue_members (
        queue_id integer NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
        agent_id integer NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (queue_id, agent_id)
      )`);
    await q.query(`CREATE INDEX queue_members_agent ON queue_members (agent_id)`);
    // queue_id carries no foreign key: resolved conversations keep the id of a queue deleted later.
    await q.query(`
      CREATE TABLE conversations (
        id serial PRIMARY KEY,
        customer_id integer NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        agent_id integer REFERENCES agents(id) ON DELETE SET NULL,
        queue_id integer NOT NULL,
        channel varchar(32) NOT NULL DEFAULT 'web',
        status varchar(10) NOT NULL CHECK (status IN ('queued', 'active', 'resolved')),
        created_at timestamptz NOT NULL DEFAULT now(),
        waiting_since timestamptz NOT NULL DEFAULT now(),
        assigned_at timestamptz,
        resolved_at timestamptz,
        resolved_by varchar(16),
        notes text,
        CHECK (status <> 'active' OR agent_id IS NOT NULL),
        CHECK (status <> 'queued' OR agent_id IS NULL)
      )`);
    await q.query(`
      CREATE UNIQUE INDEX conversations_one_open_per_customer ON conversations (customer_id)
      WHERE status IN ('queued', 'active')`);
    await q.query(`CREATE INDEX conversations_agent_active ON conversations (agent_id) WHERE status = 'active'`);
    await q.query(`CREATE INDEX conversations_waiting ON conversations (queue_id, waiting_since, id) WHERE status = 'queued'`);
    await q.query(`CREATE INDEX conversations_agent ON conversations (agent_id, id)`);
    await q.query(`CREATE INDEX conversations_customer ON conversations (customer_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['conversations', 'queue_members', 'queues', 'agent_state_history', 'agent_presence', 'pause_reasons', 'agents']) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}

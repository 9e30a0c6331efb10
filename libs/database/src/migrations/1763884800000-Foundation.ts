import { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1763884800000 implements MigrationInterface {
  name = 'Foundation1763884800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE admins (
        id serial PRIMARY KEY,
        email varchar(254) NOT NULL UNIQUE,
        name varchar(200) NOT NULL,
        password_hash text NOT NULL,
        token_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE customers (
        id serial PRIMARY KEY,
        name varchar(200),
        email varchar(254),
        external_id varchar(200) UNIQUE,
        token_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE customers`);
    await q.query(`DROP TABLE admins`);
  }
}

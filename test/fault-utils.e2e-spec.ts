import { Client } from 'pg';
import { createClient } from 'redis';
import { AppProcess } from './utils/app-process';
import { createTestDatabase, dropTestDatabase, serverUrl } from './utils/test-db';
import { RedisServer, redisServerAvailable } from './utils/redis-server';
import { TcpProxy } from './utils/tcp-proxy';

async function query(url: string, timeoutMs = 3000): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const res = await client.query('SELECT 1 AS one');
    return String(res.rows[0].one);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// The fault injectors themselves: each mode of the proxy, a private Redis, the app as a child process.
(serverUrl() ? describe : describe.skip)('Fault-injection utilities (e2e)', () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(async () => {
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('TcpProxy passes, refuses and stalls PostgreSQL connections, and recovers', async () => {
    const { proxy, url } = await TcpProxy.forUrl(databaseUrl);
    try {
      expect(await query(url)).toBe('1');

      proxy.refuse();
      await expect(query(url)).rejects.toThrow();

      proxy.stall();
      await expect(query(url, 800)).rejects.toThrow(/timeout/i);

      // A connection opened while passing, held by a stall, gets its answer once the proxy passes again.
      proxy.pass();
      const client = new Client({ connectionString: url });
      client.on('error', () => undefined); // the cut below also surfaces as an 'error' event
      await client.connect();
      proxy.stall();
      const pending = client.query('SELECT 2 AS two');
      let answered = false;
      void pending.then(() => (answered = true), () => undefined);
      await new Promise((r) => setTimeout(r, 500));
      expect(answered).toBe(false);
      proxy.pass();
      expect((await pending).rows[0].two).toBe(2);
      proxy.refuse();
      await expect(client.query('SELECT 3')).rejects.toThrow();
      await client.end().catch(() => undefined);
      proxy.pass();
      expect(await query(url)).toBe('1');
    } finally {
      await proxy.close();
    }
  });

  (redisServerAvailable() ? it : it.skip)('RedisServer runs a private redis-server that can be killed and restarted on its port', async () => {
    const redis = await RedisServer.start();
    const client = createClient({ url: redis.url, socket: { reconnectStrategy: 100 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      await redis.kill();
      expect(redis.running).toBe(false);
      await redis.restart();
      for (let i = 0; i < 50 && !client.isReady; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.destroy();
      await redis.stop();
    }
  });

  it('AppProcess serves on a given DATABASE_URL and dies at SIGKILL', async () => {
    const app = await AppProcess.start({ databaseUrl });
    try {
      const res = await fetch(`${app.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@example.com', password: 'admin-secret' }),
      });
      expect(res.status).toBe(200);
      expect(await app.kill()).toBeNull();
      expect(app.running).toBe(false);
      await expect(fetch(`${app.url}/api/v1/health`)).rejects.toThrow();
    } finally {
      await app.stop();
    }
  });
});

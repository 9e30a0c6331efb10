import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AddressInfo } from 'net';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { loadConfig } from '@cc/common';
import { AppModule } from '../../apps/contact-center/src/app.module';
import { configureApp } from '../../apps/contact-center/src/configure-app';
import { createTestDatabase, dropTestDatabase, serverUrl, tempDataDir } from './test-db';

export const TEST_ADMIN = { email: 'admin@example.com', password: 'admin-secret' };

export interface TestApp {
  app: INestApplication;
  /** http://127.0.0.1:<port> of the listening server (for socket.io-client). */
  url: string;
  http: TestAgent;
  /** Where this app's data lives: pass it to a second instance to share the database. */
  databaseUrl: string | null;
  dataDir: string | null;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Share another instance's database (PostgreSQL only). */
  databaseUrl?: string;
  /** Use the embedded engine even when DATABASE_URL is set. */
  embedded?: boolean;
  /** Reuse an embedded data directory (to test a restart). */
  dataDir?: string;
  /** Keep the database when closing (another instance still uses it). */
  keepDatabase?: boolean;
}

/** Boots the real app on a real database and a random port. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const onServer = !options.embedded && !!serverUrl();
  const ownsDatabase = !options.databaseUrl && onServer;
  const databaseUrl = options.databaseUrl ?? (onServer ? await createTestDatabase() : null);
  const dataDir = databaseUrl ? null : (options.dataDir ?? tempDataDir());
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    BCRYPT_ROUNDS: '4',
    JWT_SECRET: 'test-secret-0123456789abcdef',
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    HTTP_RATE_LIMIT: '0',
    MESSAGE_RATE_LIMIT: '0',
    ALLOCATION_SWEEP_MS: '1000',
    REDIS_URL: '',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_URL: '', DATA_DIR: dataDir! }),
    ...options.env,
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bodyParser: false, bufferLogs: true, abortOnError: false });
  await configureApp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    http: request(app.getHttpServer()),
    databaseUrl,
    dataDir,
    async close() {
      await app.close();
      if (ownsDatabase && databaseUrl && !options.keepDatabase) await dropTestDatabase(databaseUrl);
    },
  };
}

export async function loginAdmin(t: TestApp): Promise<string> {
  const res = await t.http.post('/api/v1/auth/login').send(TEST_ADMIN).expect(200);
  return res.body.accessToken;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

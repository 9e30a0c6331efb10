import { AppProcess } from './utils/app-process';
import { TEST_ADMIN } from './utils/create-test-app';
import { waitUntil } from './utils/free-port';
import { createTestDatabase, dropTestDatabase, serverUrl } from './utils/test-db';

interface LogLine {
  msg?: string;
  req?: { method: string; url: string; headers: Record<string, string> };
  res?: { statusCode: number };
  responseTime?: number;
}

const linesOf = (app: AppProcess): LogLine[] =>
  app.log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return {}; // the first line of the 4,000-character tail may be cut
      }
    });

// Logs are written through a buffer (apps/contact-center/src/platform/log-destination.ts): each
// request still gets its line, and nothing buffered is lost when the process stops.
(serverUrl() ? describe : describe.skip)('Request log (e2e, child process)', () => {
  let databaseUrl: string;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(async () => {
    await app?.stop();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('writes one line per request (authorization redacted) without a flush, and what is buffered at SIGTERM before the exit', async () => {
    app = await AppProcess.start({ databaseUrl, env: { LOG_LEVEL: 'info' } });
    const login = await fetch(`${app.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(TEST_ADMIN) });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const url = `/api/v1/agents?limit=1&q=probe${Date.now()}`;
    const res = await fetch(`${app.url}${url}`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(res.status).toBe(200);

    // The line arrives by the periodic flush (the server stays idle meanwhile: nothing fills the buffer).
    await waitUntil('the request log line', () => linesOf(app!).some((l) => l.req?.url === url), 10_000);
    const lines = linesOf(app).filter((l) => l.req?.url === url);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request completed', req: { method: 'GET' }, res: { statusCode: 200 } });
    expect(typeof lines[0].responseTime).toBe('number');
    expect(lines[0].req!.headers.authorization).toBe('[Redacted]');

    // The shutdown's own last line is logged just before process.exit: it is in the buffer then.
    expect(await app.signal('SIGTERM')).toBe(0);
    expect(linesOf(app).some((l) => /^Stopped in \d+ ms$/.test(l.msg ?? ''))).toBe(true);
  });
});

import { createTestApp, TestApp } from './utils/create-test-app';
import { describeWith } from './utils/requires';

describe('Operations (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('GET /api/v1/health answers ok with the database up and Redis disabled', async () => {
    const res = await t.http.get('/api/v1/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', db: 'up', redis: 'disabled' });
  });

  it('GET /metrics answers Prometheus text', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/^# HELP cc_process_cpu_user_seconds_total/m);
    expect(res.text).toMatch(/^cc_conversations_waiting 0$/m);
    expect(res.text).toMatch(/^cc_allocations_total 0$/m);
    expect(res.text).toMatch(/^# TYPE cc_socket_ack_seconds histogram$/m);
    expect(res.text).toMatch(/^cc_log_lines_dropped_total 0$/m);
  });

  it('GET /docs serves the OpenAPI UI and the document lists the routes', async () => {
    const page = await t.http.get('/docs').expect(200);
    expect(page.text).toMatch(/swagger/i);
    const doc = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/auth/login', '/api/v1/customers/session', '/api/v1/health']));
  });
});

const redisUrl = process.env.REDIS_URL;
describeWith(['redis'], 'Operations with Redis (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { REDIS_URL: redisUrl! } });
  });
  afterAll(() => t.close());

  it('reports Redis up', async () => {
    const res = await t.http.get('/api/v1/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', db: 'up', redis: 'up' });
  });
});

describe('HTTP rate limit (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { HTTP_RATE_LIMIT: '5' } });
  });
  afterAll(() => t.close());

  it('answers 429 in the error shape past HTTP_RATE_LIMIT requests a minute on login and customer sessions', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.http.post('/api/v1/auth/login').send({ email: 'x@example.com', password: 'nope' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = await t.http.post('/api/v1/auth/login').send({ email: 'x@example.com', password: 'nope' }).expect(429);
    expect(limited.body).toEqual({ statusCode: 429, error: 'Too Many Requests', message: 'Too many requests' });
    const sessions: number[] = [];
    for (let i = 0; i < 6; i++) sessions.push((await t.http.post('/api/v1/customers/session').send({})).status);
    expect(sessions).toEqual([201, 201, 201, 201, 201, 429]);
    // Authenticated routes are not limited.
    await t.http.get('/api/v1/health').expect(200);
  });
});

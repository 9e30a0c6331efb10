import { createHmac } from 'crypto';
import { bearer, createTestApp, loginAdmin, TEST_ADMIN, TestApp } from './utils/create-test-app';

const IDENTITY_SECRET = 'identity-secret-for-tests';

describe('Auth (e2e)', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { CUSTOMER_IDENTITY_SECRET: IDENTITY_SECRET } });
    admin = await loginAdmin(t);
  });
  afterAll(() => t.close());

  it('logs the admin in with a bearer token and never returns a hash', async () => {
    const res = await t.http.post('/api/v1/auth/login').send(TEST_ADMIN).expect(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: expect.any(Number), user: { role: 'admin', email: TEST_ADMIN.email } });
    expect(JSON.stringify(res.body)).not.toMatch(/\$2[aby]\$|password/i);
  });

  it('answers 401 with the same message for a wrong password and an unknown email', async () => {
    const wrong = await t.http.post('/api/v1/auth/login').send({ email: TEST_ADMIN.email, password: 'nope' }).expect(401);
    const unknown = await t.http.post('/api/v1/auth/login').send({ email: 'ghost@example.com', password: 'nope' }).expect(401);
    expect(wrong.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Invalid email or password' });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('GET /auth/me answers the caller for admin and customer; 401 without a token', async () => {
    const me = await t.http.get('/api/v1/auth/me').set(bearer(admin)).expect(200);
    expect(me.body).toMatchObject({ role: 'admin', email: TEST_ADMIN.email, id: expect.any(Number) });
    const session = await t.http.post('/api/v1/customers/session').send({ name: 'Ann' }).expect(201);
    const customerMe = await t.http.get('/api/v1/auth/me').set(bearer(session.body.accessToken)).expect(200);
    expect(customerMe.body).toMatchObject({ role: 'customer', id: session.body.customer.id, name: 'Ann' });
    const none = await t.http.get('/api/v1/auth/me').expect(401);
    expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await t.http.get('/api/v1/auth/me').set(bearer('not.a.token')).expect(401);
  });

  it('logout revokes that token and every earlier one of the user, but not later ones', async () => {
    const first = (await t.http.post('/api/v1/auth/login').send(TEST_ADMIN).expect(200)).body.accessToken;
    const second = (await t.http.post('/api/v1/auth/login').send(TEST_ADMIN).expect(200)).body.accessToken;
    await t.http.post('/api/v1/auth/logout').set(bearer(second)).expect(204);
    await t.http.get('/api/v1/auth/me').set(bearer(second)).expect(401);
    await t.http.get('/api/v1/auth/me').set(bearer(first)).expect(401);
    const fresh = (await t.http.post('/api/v1/auth/login').send(TEST_ADMIN).expect(200)).body.accessToken;
    await t.http.get('/api/v1/auth/me').set(bearer(fresh)).expect(200);
    admin = fresh;
  });

  describe('customer sessions', () => {
    const hash = (externalId: string) => createHmac('sha256', IDENTITY_SECRET).update(externalId).digest('hex');

    it('creates a new anonymous customer each time', async () => {
      const a = await t.http.post('/api/v1/customers/session').send({}).expect(201);
      const b = await t.http.post('/api/v1/customers/session').send({ name: 'Bo', email: 'bo@example.com' }).expect(201);
      expect(a.body.customer).toEqual({ id: expect.any(Number), name: null, email: null, externalId: null });
      expect(b.body.customer).toMatchObject({ name: 'Bo', email: 'bo@example.com' });
      expect(a.body.customer.id).not.toBe(b.body.customer.id);
      expect(a.body.accessToken).toEqual(expect.any(String));
    });

    it('gets-or-creates an identified customer with the right hash', async () => {
      const first = await t.http.post('/api/v1/customers/session').send({ externalId: 'crm-42', identityHash: hash('crm-42'), name: 'Cy' }).expect(201);
      const again = await t.http.post('/api/v1/customers/session').send({ externalId: 'crm-42', identityHash: hash('crm-42') }).expect(201);
      expect(again.body.customer).toEqual({ id: first.body.customer.id, name: 'Cy', email: null, externalId: 'crm-42' });
    });

    it('refuses an identified customer with a wrong or missing hash', async () => {
      await t.http.post('/api/v1/customers/session').send({ externalId: 'crm-43', identityHash: hash('crm-44') }).expect(401);
      await t.http.post('/api/v1/customers/session').send({ externalId: 'crm-43' }).expect(401);
    });

    it('lets an admin create a session for any externalId without the hash', async () => {
      const res = await t.http.post('/api/v1/customers/session').set(bearer(admin)).send({ externalId: 'wa:+15550001' }).expect(201);
      expect(res.body.customer.externalId).toBe('wa:+15550001');
    });

    it('gives one customer to concurrent sessions of one externalId', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => t.http.post('/api/v1/customers/session').set(bearer(admin)).send({ externalId: 'race-1' })),
      );
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(results.map((r) => r.body.customer.id)).size).toBe(1);
    });

    it('refuses a customer token where an admin is required (403)', async () => {
      const customer = (await t.http.post('/api/v1/customers/session').send({}).expect(201)).body.accessToken;
      await t.http.post('/api/v1/customers/session').set(bearer(customer)).send({ externalId: 'x' }).expect(403);
    });
  });

  describe('validation and errors', () => {
    it('answers 400 naming every offending field and rejects unknown fields', async () => {
      const res = await t.http.post('/api/v1/auth/login').send({ email: 5, extra: true }).expect(400);
      const text = [res.body.message].flat().join(' ');
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(text).toMatch(/email/);
      expect(text).toMatch(/password/);
      expect(text).toMatch(/extra/);
    });

    it('answers 400 for invalid JSON and 413 for an oversize body, in the error shape', async () => {
      const bad = await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email": ').expect(400);
      expect(bad.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.any(String) });
      const big = await t.http.post('/api/v1/auth/login').send({ email: 'x'.repeat(200_000), password: 'y' }).expect(413);
      expect(big.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    });

    it('answers 404 for an unknown route in the error shape', async () => {
      const res = await t.http.get('/api/v1/no-such-route').expect(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.any(String) });
    });
  });
});

import { bearer, createTestApp, loginAdmin } from './utils/create-test-app';
import { tempDataDir } from './utils/test-db';

// The embedded engine must keep its data across a restart of the server.
describe('Embedded database (e2e)', () => {
  it('keeps data across a restart on the same DATA_DIR', async () => {
    const dataDir = tempDataDir();
    const options = { dataDir, embedded: true };
    const first = await createTestApp(options);
    expect(first.databaseUrl).toBeNull();
    const admin = await loginAdmin(first);
    const session = await first.http.post('/api/v1/customers/session').set(bearer(admin)).send({ externalId: 'keep-me', name: 'Kept' }).expect(201);
    await first.close();

    const second = await createTestApp(options);
    try {
      const again = await second.http.post('/api/v1/customers/session').set(bearer(await loginAdmin(second))).send({ externalId: 'keep-me' }).expect(201);
      expect(again.body.customer).toEqual(session.body.customer);
    } finally {
      await second.close();
    }
  });
});

import { bearer, createTestApp, loginAdmin } from './utils/create-test-app';
import { tempDataDir } from './utils/test-db';

// The embedded engine must keep its data across a restart of the server.
// Two embedded starts (each migrating PGlite) can take well over a minute on a loaded machine.
jest.setTimeout(240_000);

describe('Embedded database (e2e)', () => {
  it('keeps data across a restart on the same DATA_DIR', async () => {
    const dataDir = tempDataDir();
    const options = { dataDir, embedded: true };
    const first = await createTestApp(options);
    let session;
    try {
      expect(first.databaseUrl).toBeNull();
      const admin = await loginAdmin(first);
      session = await first.http.post('/api/v1/customers/session').set(bearer(admin)).send({ externalId: 'keep-me', name: 'Kept' }).expect(201);
    } finally {
      await first.close(); // an app left open keeps jest from exiting
    }

    const second = await createTestApp(options);
    try {
      const again = await second.http.post('/api/v1/customers/session').set(bearer(await loginAdmin(second))).send({ externalId: 'keep-me' }).expect(201);
      expect(again.body.customer).toEqual(session.body.customer);
    } finally {
      await second.close();
    }
  });
});

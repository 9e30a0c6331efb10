import { ContactCenter, eventually } from './factories/contact-center.factory';
import { createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { closeAll, connect, WsClient } from './utils/ws-client';
import { PresenceGrace } from '../apps/contact-center/src/realtime/presence-grace.service';

const GRACE_SECONDS = 1;

// API.md section 10 / issue 10 point 9: the grace logoff decides under the row lock, not on the sweep's earlier view.
describe('Grace logoff re-check (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  const open: WsClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { PRESENCE_GRACE_SECONDS: String(GRACE_SECONDS) } });
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    closeAll(open);
    await t?.close();
  });

  it('a logoff decided on a stale view (the socket came back meanwhile) does not log the agent off', async () => {
    const agent = await cc.agent();
    const first = await connect(t.url, '/agent', agent.token);
    first.client.close();
    // The grace runs: the sweep has seen the agent without a socket.
    await new Promise((r) => setTimeout(r, 200));
    const back = await connect(t.url, '/agent', agent.token);
    open.push(back.client);
    await eventually(async () => (await cc.status(agent.id)).state !== 'offline', 2000);

    // What the sweep does with the view it took before the socket came back.
    const grace = t.app.get(PresenceGrace);
    await (grace as unknown as { logoff(agentId: number): Promise<void> }).logoff(agent.id);
    expect((await cc.status(agent.id)).state).not.toBe('offline');

    // Without a socket for longer than the grace, it is logged off.
    back.client.close();
    await eventually(async () => (await cc.status(agent.id)).state === 'offline', GRACE_SECONDS * 1000 + 6000);
  });
});

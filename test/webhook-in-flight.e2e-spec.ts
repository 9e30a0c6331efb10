import { DataSource } from 'typeorm';
import { recordEvent } from '@cc/database';
import { MAX_IN_FLIGHT } from '@cc/integrations';
import { eventually } from './factories/contact-center.factory';
import { createTestApp, TestApp } from './utils/create-test-app';
import { WebhookReceiver } from './utils/webhook-receiver';

/**
 * The dispatcher's bound on attempts in flight (webhook-dispatcher.ts MAX_IN_FLIGHT): with more
 * heads due than that and a receiver that never answers, exactly that many calls are open, and
 * polling claims no more while they hang.
 */
describe('Event webhook attempts in flight (e2e)', () => {
  let t: TestApp;
  let r: WebhookReceiver;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_POLL_MS: '20' } });
    r = await WebhookReceiver.start();
    r.answerWith(() => 'hang');
  });
  afterAll(async () => {
    await r?.close();
    await t?.close();
  });

  it(`has at most ${MAX_IN_FLIGHT} attempts in flight, and reaches that many when enough heads are due`, async () => {
    const db = t.app.get(DataSource);
    await db.query(`INSERT INTO webhooks (url, events, secret) VALUES ($1, '{message.created}', 's')`, [r.url]);
    // One event in each of MAX_IN_FLIGHT + 20 conversations: every one is a head, due at once.
    const lines = MAX_IN_FLIGHT + 20;
    await db.transaction(async (manager) => {
      for (let i = 0; i < lines; i++) {
        await recordEvent(manager, { type: 'message.created', conversationId: 900_000 + i, channel: 'web', actor: { type: 'system', id: null }, data: { message: { text: `m${i}` } } });
      }
    });
    // Within the 10 s call timeout, after which the hanging attempts fail and free their slots.
    await eventually(async () => r.calls.length >= MAX_IN_FLIGHT, 9000);
    // Polls (every 20 ms) while every slot hangs claim nothing more.
    for (let poll = 0; poll < 10; poll++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.calls.length).toBe(MAX_IN_FLIGHT);
    const [{ leased }] = await db.query(`SELECT count(*)::int AS leased FROM webhook_deliveries WHERE status = 'pending' AND leased_until > now()`);
    expect(leased).toBe(MAX_IN_FLIGHT);
  });
});

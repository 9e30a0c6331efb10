import { DataSource } from 'typeorm';
import { OutboxRepository } from '@cc/database';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { AppProcess } from './utils/app-process';
import { WebhookReceiver } from './utils/webhook-receiver';
import { describeWith } from './utils/requires';

/**
 * WEBHOOK_DISPATCH=false (docs/integrations.md › Dispatch-only instances): an instance that
 * writes the outbox rows of its changes but never claims or sends them. B (in this process)
 * has it off; A (a child process on the same database) dispatches.
 */
describeWith(['postgres'], 'Event webhooks with a non-dispatching instance (e2e)', () => {
  let b: TestApp;
  let a: AppProcess | undefined;
  let r: WebhookReceiver;
  let cc: ContactCenter;
  let db: DataSource;
  const env = { WEBHOOK_RETRY_SCALE: '0.01', WEBHOOK_POLL_MS: '20' };

  beforeAll(async () => {
    b = await createTestApp({ env: { ...env, WEBHOOK_DISPATCH: 'false' } });
    r = await WebhookReceiver.start();
    cc = new ContactCenter(b, await loginAdmin(b));
    db = b.app.get(DataSource);
  }, 90000);
  afterAll(async () => {
    await a?.stop();
    await r?.close();
    await b?.close();
  });

  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await b.http.get('/metrics').expect(200)).text)?.[1]);

  /** message.created calls answered 2xx, as message ids per conversation in arrival order (first 2xx of each event). */
  function deliveredMessageIds(): Map<number, number[]> {
    const seen = new Set<string>();
    const byConversation = new Map<number, number[]>();
    for (const call of r.delivered()) {
      if (call.body.type !== 'message.created' || seen.has(call.body.id)) continue;
      seen.add(call.body.id);
      const message = call.body.data.message;
      byConversation.set(message.conversationId, [...(byConversation.get(message.conversationId) ?? []), message.id]);
    }
    return byConversation;
  }

  it('sends nothing from the instance with dispatch off; the other sends everything, in order per conversation', async () => {
    const outbox = b.app.get(OutboxRepository);
    const claims = jest.spyOn(outbox, 'claim');
    const recordsAndClaims = jest.spyOn(outbox, 'deliveredAndClaim');
    const hook = (await cc.post('/webhooks', { url: r.url, events: ['conversation.created', 'message.created'] }).expect(201)).body;

    // Alone, B stores the events of its changes and their deliveries, and sends none of them.
    const started = [await cc.start({ text: 'one' }), await cc.start({ text: 'two' })];
    for (const { conversation, customer } of started) {
      for (const text of ['b1', 'b2', 'b3']) await cc.post(`/conversations/${conversation.id}/messages`, { text }, customer.token).expect(201);
    }
    const stored = async () => (await db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1`, [hook.id]))[0].n;
    expect(await stored()).toBe(10);
    // Fifty of its poll periods: a dispatching instance would have sent every one by now.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(r.calls).toHaveLength(0);
    const pending = await db.query(`SELECT attempts FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending'`, [hook.id]);
    expect(pending.map((p: { attempts: number }) => p.attempts)).toEqual(new Array(10).fill(0));
    // The backlog is visible (all instances' deliveries), also on the instance that does not send them.
    expect(await metric('cc_webhook_deliveries_pending')).toBe(10);
    expect(await metric('cc_webhook_oldest_pending_seconds')).toBeGreaterThan(0);
    // A manual retry makes a delivery due; it still waits for a dispatching instance.
    const listed = (await b.http.get(`/api/v1/webhooks/${hook.id}/deliveries`).set(bearer(cc.admin)).expect(200)).body.data;
    await b.http.post(`/api/v1/webhooks/${hook.id}/deliveries/${listed[0].id}/retry`).set(bearer(cc.admin)).expect(202);

    // A dispatches: it sends the backlog, and what both instances write meanwhile to the same conversations.
    a = await AppProcess.start({ databaseUrl: b.databaseUrl!, env });
    const onA = (id: number, token: string, text: string) =>
      fetch(`${a!.url}/api/v1/conversations/${id}/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...bearer(token) }, body: JSON.stringify({ text }) });
    await Promise.all(
      started.map(async ({ conversation, customer }) => {
        for (let i = 0; i < 5; i++) {
          const [viaA] = await Promise.all([onA(conversation.id, customer.token, `a${i}`), cc.post(`/conversations/${conversation.id}/messages`, { text: `b${i}` }, customer.token).expect(201)]);
          expect(viaA.status).toBe(201);
        }
      }),
    );
    await eventually(async () => (await db.query(`SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1 AND status <> 'delivered'`, [hook.id])).length === 0, 30000, 100);

    expect(await stored()).toBe(30);
    const delivered = deliveredMessageIds();
    for (const { conversation } of started) {
      const history = (await b.http.get(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(cc.admin)).expect(200)).body.data;
      // Every message's event, in the order of the conversation's messages.
      expect(delivered.get(conversation.id)).toEqual(history.map((m: { id: number }) => m.id));
      expect(history).toHaveLength(14);
    }
    // Each delivery sent once (A's one attempt); B never claimed.
    const attempts = await db.query(`SELECT attempts FROM webhook_deliveries WHERE webhook_id = $1`, [hook.id]);
    expect(attempts.every((d: { attempts: number }) => d.attempts === 1)).toBe(true);
    expect(new Set(r.calls.map((c) => c.body.id)).size).toBe(r.calls.length);
    expect(claims).not.toHaveBeenCalled();
    expect(recordsAndClaims).not.toHaveBeenCalled();
    expect(await metric('cc_webhook_deliveries_pending')).toBe(0);
  }, 90000);
});

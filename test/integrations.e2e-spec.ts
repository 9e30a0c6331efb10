import { DataSource } from 'typeorm';
import { Decider } from '@cc/allocation';
import { ContactCenter, eventually } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { AppProcess } from './utils/app-process';
import { ReceivedCall, signatureValid, WebhookReceiver } from './utils/webhook-receiver';
import { describeWith } from './utils/requires';

const ALL_EVENTS = [
  'conversation.created',
  'conversation.queued',
  'conversation.offered',
  'conversation.assigned',
  'conversation.transferred',
  'conversation.resolved',
  'message.created',
  'agent.status.changed',
];

describe('Integrations: API keys, event webhooks, channel connectors (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  let admin: string;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_RETRY_SCALE: '0.01', WEBHOOK_POLL_MS: '50' } });
    admin = await loginAdmin(t);
    cc = new ContactCenter(t, admin);
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await t?.close();
  });

  async function receiver(): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start();
    receivers.push(r);
    return r;
  }

  async function subscribe(url: string, body: Record<string, unknown> = {}): Promise<{ id: number; secret: string }> {
    const res = await cc.post('/webhooks', { url, events: ALL_EVENTS, ...body }).expect(201);
    return res.body;
  }

  const forConversation = (calls: ReceivedCall[], id: number) => calls.filter((c) => c.body.data?.conversation?.id === id);

  /** The calls about conversation `id`, once there are at least `n` (bounded wait). */
  async function callsAbout(r: WebhookReceiver, id: number, n: number, timeoutMs = 10000): Promise<ReceivedCall[]> {
    await eventually(async () => forConversation(r.calls, id).length >= n, timeoutMs, 100);
    return forConversation(r.calls, id);
  }

  describe('API keys', () => {
    it('creates, lists, authenticates, restricts connectors and revokes at once', async () => {
      const created = await cc.post('/api-keys', { name: 'ops', role: 'admin' }).expect(201);
      expect(created.body).toEqual({ id: expect.any(Number), name: 'ops', role: 'admin', key: expect.stringMatching(/^cck_/), prefix: expect.any(String), createdAt: expect.any(String) });
      const key = created.body.key;
      const list = await t.http.get('/api/v1/api-keys').set(bearer(admin)).expect(200);
      expect(list.body.meta).toMatchObject({ page: 1, limit: 20 });
      expect(JSON.stringify(list.body)).not.toContain(key);
      expect(list.body.data.find((k: any) => k.id === created.body.id)).toMatchObject({ name: 'ops', role: 'admin' });

      // An admin key may do what an admin may.
      await t.http.get('/api/v1/agents').set(bearer(key)).expect(200);
      await t.http.get('/api/v1/api-keys').set(bearer(key)).expect(200);

      const connector = (await cc.post('/api-keys', { name: 'wa bridge', role: 'connector' }).expect(201)).body;
      await t.http.get('/api/v1/agents').set(bearer(connector.key)).expect(403);
      await t.http.post('/api/v1/webhooks').set(bearer(connector.key)).send({ url: 'http://127.0.0.1:1/x', events: ['message.created'] }).expect(403);
      await t.http.get('/api/v1/conversations').set(bearer(connector.key)).expect(403);
      // Like an admin token, a connector key needs no identityHash for a session.
      const session = await t.http.post('/api/v1/customers/session').set(bearer(connector.key)).send({ externalId: `ext-${Date.now()}` }).expect(201);
      expect(session.body.customer.externalId).toMatch(/^ext-/);
      await t.http.post('/api/v1/channels/whatsapp/inbound').set(bearer(connector.key)).send({ externalId: `+49${Date.now()}`, text: 'hi', externalMessageId: `wamid-k-${Date.now()}` }).expect(201);

      // An agent may not manage keys; a bad role or an unknown field is a 400.
      const agent = await cc.agent();
      await t.http.get('/api/v1/api-keys').set(bearer(agent.token)).expect(403);
      await cc.post('/api-keys', { name: 'x', role: 'root' }).expect(400);
      await cc.post('/api-keys', { name: 'x', role: 'admin', key: 'mine' }).expect(400);

      await t.http.delete(`/api/v1/api-keys/${created.body.id}`).set(bearer(admin)).expect(204);
      await t.http.get('/api/v1/agents').set(bearer(key)).expect(401);
      await t.http.delete(`/api/v1/api-keys/${created.body.id}`).set(bearer(admin)).expect(404);
      await t.http.get('/api/v1/agents').set(bearer('cck_not-a-key')).expect(401);
      const after = await t.http.get('/api/v1/api-keys?limit=100').set(bearer(admin)).expect(200);
      expect(after.body.data.map((k: any) => k.id)).not.toContain(created.body.id);
    });
  });

  describe('webhooks', () => {
    it('validates subscriptions and answers them as the contract says', async () => {
      await cc.post('/webhooks', { url: 'not a url', events: ['message.created'] }).expect(400);
      await cc.post('/webhooks', { url: 'http://127.0.0.1:9/x', events: ['message.sent'] }).expect(400);
      await cc.post('/webhooks', { url: 'http://127.0.0.1:9/x', events: [] }).expect(400);
      const hook = await cc.post('/webhooks', { url: 'http://127.0.0.1:9/x', events: ['message.created'], channels: ['whatsapp'], secret: 'a-secret-of-16-chars' }).expect(201);
      expect(hook.body).toEqual({ id: expect.any(Number), url: 'http://127.0.0.1:9/x', events: ['message.created'], channels: ['whatsapp'], secret: 'a-secret-of-16-chars', active: true, createdAt: expect.any(String) });
      const random = await cc.post('/webhooks', { url: 'http://127.0.0.1:9/y', events: ['message.created'] }).expect(201);
      expect(random.body.secret.length).toBeGreaterThanOrEqual(16);
      expect(random.body.channels).toBeNull();
      const patched = await t.http.patch(`/api/v1/webhooks/${hook.body.id}`).set(bearer(admin)).send({ active: false, channels: null }).expect(200);
      expect(patched.body).toMatchObject({ active: false, channels: null, events: ['message.created'] });
      await t.http.get(`/api/v1/webhooks/${hook.body.id}`).set(bearer(admin)).expect(200);
      const list = await t.http.get('/api/v1/webhooks').set(bearer(admin)).expect(200);
      expect(list.body.data.map((w: any) => w.id)).toEqual(expect.arrayContaining([hook.body.id, random.body.id]));
      for (const id of [hook.body.id, random.body.id]) await t.http.delete(`/api/v1/webhooks/${id}`).set(bearer(admin)).expect(204);
      await t.http.get(`/api/v1/webhooks/${hook.body.id}`).set(bearer(admin)).expect(404);
      await t.http.get(`/api/v1/webhooks/${hook.body.id}/deliveries`).set(bearer(admin)).expect(404);
    });

    it('sends every event of one conversation in order, signed, with the right actor', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url);
      const queue = await cc.queue({ channels: ['life'] });
      const first = await cc.agent({ queueIds: [queue.id] }, { login: false });
      const second = await cc.agent({ queueIds: [queue.id] });
      // The first agent is logged off: the conversation waits.
      await cc.post(`/agents/${second.id}/pause`, {}).expect(200);
      const customer = await cc.customer();
      const started = await t.http.post('/api/v1/conversations').set(bearer(customer.token)).send({ channel: 'life', text: 'hello' }).expect(201);
      const id = started.body.id;
      expect(started.body.status).toBe('queued');
      // The admin logs the first agent in: the system assigns the waiting conversation to it.
      await cc.post(`/agents/${first.id}/login`, {}).expect(200);
      await eventually(async () => (await cc.conversation(id)).status === 'active');
      await cc.post(`/conversations/${id}/messages`, { text: 'how can I help?' }, first.token).expect(201);
      await cc.post(`/agents/${second.id}/unpause`, {}).expect(200);
      await cc.post(`/conversations/${id}/transfer`, { agentId: second.id }, first.token).expect(200);
      await cc.post(`/conversations/${id}/resolve`, {}, customer.token).expect(200);

      const expected = [
        ['conversation.created', 'customer', customer.id],
        ['message.created', 'customer', customer.id],
        ['conversation.queued', 'system', null],
        ['conversation.assigned', 'system', null],
        ['message.created', 'agent', first.id],
        ['conversation.assigned', 'agent', first.id],
        ['conversation.transferred', 'agent', first.id],
        ['conversation.resolved', 'customer', customer.id],
      ];
      const calls = await callsAbout(r, id, expected.length, 15000);
      expect(calls.map((c) => [c.body.type, c.body.actor.type, c.body.actor.id])).toEqual(expected);
      for (const call of calls) {
        expect(signatureValid(call, hook.secret)).toBe(true);
        expect(call.headers['x-webhook-id']).toBe(call.body.id);
        expect(Math.abs(Number(call.headers['x-webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(120);
        expect(call.body).toEqual({ id: expect.any(String), type: expect.any(String), occurredAt: expect.any(String), actor: expect.any(Object), data: expect.any(Object) });
      }
      expect(new Set(calls.map((c) => c.body.id)).size).toBe(calls.length);
      const created = calls[0].body.data;
      // The conversation as stored (a waiting place and its estimate belong to conversation.queued).
      const { position, estimatedWaitSeconds, ...stored } = started.body;
      expect(position).toBe(1);
      expect(created).toEqual({ conversation: stored });
      const message = calls[1].body.data;
      expect(message.message).toMatchObject({ conversationId: id, senderType: 'customer', senderId: customer.id, text: 'hello' });
      expect(message.customer).toMatchObject({ id: customer.id });
      expect(message.conversation).toMatchObject({ id, channel: 'life', customerId: customer.id });
      const history = await t.http.get(`/api/v1/conversations/${id}/messages`).set(bearer(admin)).expect(200);
      expect(calls[4].body.data.message).toEqual(history.body.data[1]);
      expect(calls[3].body.data.agent).toMatchObject({ id: first.id });
      expect(calls[6].body.data).toMatchObject({ fromAgentId: first.id, toAgentId: second.id });
      expect(calls[7].body.data.conversation).toEqual(await cc.conversation(id));

      // agent.status.changed carries the status, with whoever changed it.
      const statuses = r.calls.filter((c) => c.body.type === 'agent.status.changed' && c.body.data.id === first.id);
      expect(statuses[0].body.actor).toEqual({ type: 'admin', id: expect.any(Number) });
      expect(statuses[0].body.data).toMatchObject({ id: first.id, logged: true });

      const deliveries = await t.http.get(`/api/v1/webhooks/${hook.id}/deliveries?status=delivered&limit=100`).set(bearer(admin)).expect(200);
      const one = deliveries.body.data.find((d: any) => d.eventId === calls[0].body.id);
      expect(one).toEqual({ id: expect.any(Number), eventId: calls[0].body.id, type: 'conversation.created', status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null, deliveredAt: expect.any(String) });
      await t.http.post(`/api/v1/webhooks/${hook.id}/deliveries/${one.id}/retry`).set(bearer(admin)).expect(409);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it('sends conversation.offered, then the assignment by the agent that accepted it (queue with offers)', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['conversation.offered', 'conversation.queued', 'conversation.assigned'] });
      const queue = await cc.queue({ channels: ['offers'], offerTimeoutSeconds: 30 });
      const first = await cc.agent({ queueIds: [queue.id] });
      const { conversation } = await cc.start({ channel: 'offers' });
      // The customer's answer reads as waiting (API.md section 11); admins see the offer.
      expect(conversation).toMatchObject({ status: 'queued', agentId: null });
      expect((await cc.conversation(conversation.id)).status).toBe('offered');
      const second = await cc.agent({ queueIds: [queue.id] });
      await cc.post(`/conversations/${conversation.id}/decline`, {}, first.token).expect(200);
      // Declined: it waits again, and is offered to the member that has not declined it.
      const offers = await callsAbout(r, conversation.id, 3);
      expect(offers.slice(0, 3).map((c) => [c.body.type, c.body.actor.type])).toEqual([
        ['conversation.offered', 'system'],
        ['conversation.queued', 'agent'],
        ['conversation.offered', 'system'],
      ]);
      expect(offers[1].body.actor.id).toBe(first.id);
      expect(offers[2].body.data.agent.id).toBe(second.id);
      await cc.post(`/conversations/${conversation.id}/accept`, {}, second.token).expect(200);
      const taker = second;
      const calls = await callsAbout(r, conversation.id, 4);
      expect(calls[0].body.data).toMatchObject({ agent: { id: first.id }, expiresAt: expect.any(String), conversation: { status: 'offered', offerExpiresAt: expect.any(String) } });
      const last = calls[calls.length - 1].body;
      expect(last).toMatchObject({ type: 'conversation.assigned', actor: { type: 'agent', id: taker.id }, data: { agent: { id: taker.id }, conversation: { status: 'active' } } });
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it('retries after 500s and after a timeout with the same X-Webhook-Id, and marks a failure', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['conversation.created'] });
      const seen = new Map<string, number>();
      r.answerWith((call) => {
        const n = (seen.get(call.body.id) ?? 0) + 1;
        seen.set(call.body.id, n);
        if (call.body.data.conversation.channel === 'timeout') return n === 1 ? 'hang' : 200;
        return n <= 2 ? 500 : 200;
      });
      const { conversation } = await cc.start({ channel: 'retry' });
      const calls = await callsAbout(r, conversation.id, 3, 10000);
      expect(calls.map((c) => c.headers['x-webhook-id'])).toEqual([calls[0].body.id, calls[0].body.id, calls[0].body.id]);
      const delivered = await eventually(async () => {
        const res = await t.http.get(`/api/v1/webhooks/${hook.id}/deliveries?status=delivered`).set(bearer(admin)).expect(200);
        return res.body.data.find((d: any) => d.eventId === calls[0].body.id);
      });
      expect(delivered).toMatchObject({ attempts: 3, lastStatusCode: 200 });

      // No answer within 10 s is a failed attempt, retried with the same id.
      const slow = await cc.start({ channel: 'timeout' });
      const timed = await callsAbout(r, slow.conversation.id, 2, 25000);
      expect(timed[1].headers['x-webhook-id']).toBe(timed[0].headers['x-webhook-id']);
      expect(timed[1].at - timed[0].at).toBeGreaterThanOrEqual(9500);
      await eventually(async () => {
        const res = await t.http.get(`/api/v1/webhooks/${hook.id}/deliveries?status=delivered`).set(bearer(admin)).expect(200);
        return res.body.data.some((d: any) => d.eventId === timed[0].body.id && d.attempts === 2);
      });

      // A receiver that always fails: retried until the (scaled) 24 h, then failed; a manual retry tries again.
      r.answerWith(() => 503);
      await t.http.patch(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).send({ events: ['conversation.resolved'] }).expect(200);
      await t.app.get(DataSource).query(`UPDATE outbox_events SET occurred_at = now() - interval '864 seconds' WHERE id IN (SELECT event_id FROM webhook_deliveries WHERE webhook_id = $1)`, [hook.id]);
      const resolved = await cc.start({ channel: 'failing' });
      await t.http.post(`/api/v1/conversations/${resolved.conversation.id}/resolve`).set(bearer(admin)).send({}).expect(200);
      // Make the event old: the next failure falls after the scaled horizon (24 h × 0.01 = 864 s).
      await eventually(async () => forConversation(r.calls, resolved.conversation.id).length >= 1);
      await t.app.get(DataSource).query(`UPDATE outbox_events SET occurred_at = now() - interval '864 seconds' WHERE type = 'conversation.resolved' AND conversation_id = $1`, [resolved.conversation.id]);
      const failed = await eventually(async () => {
        const res = await t.http.get(`/api/v1/webhooks/${hook.id}/deliveries?status=failed`).set(bearer(admin)).expect(200);
        return res.body.data[0];
      }, 10000);
      expect(failed).toMatchObject({ type: 'conversation.resolved', status: 'failed', lastStatusCode: 503, lastError: 'HTTP 503', nextAttemptAt: null, deliveredAt: null });
      const before = forConversation(r.calls, resolved.conversation.id).length;
      r.answerWith(() => 200);
      await t.http.post(`/api/v1/webhooks/${hook.id}/deliveries/${failed.id}/retry`).set(bearer(admin)).expect(202);
      await eventually(async () => {
        const res = await t.http.get(`/api/v1/webhooks/${hook.id}/deliveries?status=delivered`).set(bearer(admin)).expect(200);
        return res.body.data.some((d: any) => d.id === failed.id);
      });
      expect(forConversation(r.calls, resolved.conversation.id).length).toBe(before + 1);
      await t.http.post(`/api/v1/webhooks/${hook.id}/deliveries/999999/retry`).set(bearer(admin)).expect(404);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    }, 90000);

    it('holds the later events of a conversation while an earlier one is failing', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['message.created'] });
      const { conversation, customer } = await cc.start({ channel: 'order' });
      let failures = 0;
      r.answerWith((call) => (call.body.data.message.text === 'm1' && ++failures <= 4 ? 500 : 200));
      for (const text of ['m1', 'm2', 'm3']) await cc.post(`/conversations/${conversation.id}/messages`, { text }, customer.token).expect(201);
      // Another conversation is not held up by this one.
      const other = await cc.start({ channel: 'order' });
      await cc.post(`/conversations/${other.conversation.id}/messages`, { text: 'other' }, other.customer.token).expect(201);
      const calls = await callsAbout(r, conversation.id, 7, 15000);
      expect(calls.map((c) => c.body.data.message.text)).toEqual(['m1', 'm1', 'm1', 'm1', 'm1', 'm2', 'm3']);
      const otherCall = r.calls.find((c) => c.body.data.conversation.id === other.conversation.id)!;
      expect(otherCall.at).toBeLessThan(calls[4].at);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it('sends only the events of its channels (and no agent statuses) to a channel-filtered webhook', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { channels: ['whatsapp'] });
      const wa = await cc.start({ channel: 'whatsapp', text: 'from wa' });
      const web = await cc.start({ channel: 'web', text: 'from web' });
      await cc.agent();
      await eventually(async () => forConversation(r.calls, wa.conversation.id).length >= 3);
      // The web conversation's events would have been stored before the later whatsapp resolve.
      await t.http.post(`/api/v1/conversations/${wa.conversation.id}/resolve`).set(bearer(admin)).send({}).expect(200);
      await eventually(async () => forConversation(r.calls, wa.conversation.id).some((c) => c.body.type === 'conversation.resolved'));
      expect(forConversation(r.calls, web.conversation.id)).toEqual([]);
      expect(r.calls.filter((c) => c.body.type === 'agent.status.changed')).toEqual([]);
      expect(r.calls.every((c) => c.body.data.conversation.channel === 'whatsapp')).toBe(true);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it('sends no event for a change whose transaction rolled back', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['conversation.assigned', 'conversation.created'] });
      // Logged off: the conversation waits, and only the rolled-back assignment could assign it.
      const agent = await cc.agent({}, { login: false });
      const { conversation } = await cc.start({ channel: 'rollback' });
      expect(conversation.status).toBe('queued');
      const db = t.app.get(DataSource);
      const allocation = t.app.get(Decider);
      await expect(
        db.transaction(async (manager) => {
          const [row] = await manager.query(`SELECT * FROM conversations WHERE id = $1 FOR UPDATE`, [conversation.id]);
          await allocation.assignTo(manager, row, agent.id, 'manual', 'manual');
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      // The created event (committed) arrives; the assignment that rolled back never does.
      await eventually(async () => forConversation(r.calls, conversation.id).length >= 1);
      expect((await cc.conversation(conversation.id)).status).toBe('queued');
      await cc.post(`/conversations/${conversation.id}/resolve`, {}).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(forConversation(r.calls, conversation.id).map((c) => c.body.type)).toEqual(['conversation.created']);
      const stored: unknown[] = await db.query(`SELECT 1 FROM outbox_events WHERE conversation_id = $1 AND type = 'conversation.assigned'`, [conversation.id]);
      expect(stored).toEqual([]);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it("records an agent edit's agent.status.changed in the edit's transaction: never for a rollback, once for a commit", async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['agent.status.changed'] });
      const agent = await cc.agent({ maxConcurrent: 2 });
      const db = t.app.get(DataSource);
      const eventsOf = async (maxConcurrent: number): Promise<number> =>
        (
          await db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE type = 'agent.status.changed' AND (data->>'id')::int = $1 AND (data->>'maxConcurrent')::int = $2`, [
            agent.id,
            maxConcurrent,
          ])
        )[0].n;
      // Faults in this test's database: the agent's commit fails (a deferred check, after the
      // event was queued), or storing its event fails (the edit must then not stand either).
      await db.query(`CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$`);
      await db.query(
        `CREATE CONSTRAINT TRIGGER test_fail_commit AFTER UPDATE ON agents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
         WHEN (NEW.id = ${agent.id} AND NEW.max_concurrent = 7) EXECUTE FUNCTION test_fail()`,
      );
      await db.query(
        `CREATE TRIGGER test_fail_event BEFORE INSERT ON outbox_events FOR EACH ROW
         WHEN (NEW.type = 'agent.status.changed' AND (NEW.data->>'id')::int = ${agent.id} AND (NEW.data->>'maxConcurrent')::int = 8) EXECUTE FUNCTION test_fail()`,
      );
      const patch = (body: Record<string, unknown>) => t.http.patch(`/api/v1/agents/${agent.id}`).set(bearer(admin)).send(body);
      try {
        await patch({ maxConcurrent: 7 }).expect(500);
        await patch({ maxConcurrent: 8 }).expect(500);
        expect((await t.http.get(`/api/v1/agents/${agent.id}`).set(bearer(admin)).expect(200)).body.maxConcurrent).toBe(2);
        expect(await eventsOf(7)).toBe(0);
        expect(await eventsOf(8)).toBe(0);
      } finally {
        await db.query(`DROP TRIGGER test_fail_commit ON agents; DROP TRIGGER test_fail_event ON outbox_events; DROP FUNCTION test_fail()`);
      }
      await patch({ maxConcurrent: 8 }).expect(200);
      expect(await eventsOf(8)).toBe(1);
      // A queue edit records its event the same way.
      const before = await eventsOf(8);
      await t.http.put(`/api/v1/agents/${agent.id}/queues`).set(bearer(admin)).send({ queueIds: [] }).expect(200);
      expect(await eventsOf(8)).toBe(before + 1);
      await eventually(async () => r.calls.some((c) => c.body.type === 'agent.status.changed' && c.body.data.id === agent.id && c.body.data.maxConcurrent === 8));
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it('prunes delivered deliveries older than the retention', async () => {
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['conversation.created'] });
      const { conversation } = await cc.start({ channel: 'prune' });
      await eventually(async () => forConversation(r.calls, conversation.id).length >= 1);
      const db = t.app.get(DataSource);
      await eventually(async () => (await db.query(`SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'delivered'`, [hook.id])).length === 1);
      await db.query(`UPDATE webhook_deliveries SET delivered_at = now() - interval '8 days' WHERE webhook_id = $1`, [hook.id]);
      await db.query(`UPDATE outbox_events SET occurred_at = now() - interval '8 days' WHERE conversation_id = $1`, [conversation.id]);
      const { WebhookDispatcher } = await import('@cc/integrations');
      expect(await t.app.get(WebhookDispatcher).prune()).toBeGreaterThanOrEqual(1);
      expect(await db.query(`SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1`, [hook.id])).toEqual([]);
      expect(await db.query(`SELECT 1 FROM outbox_events WHERE conversation_id = $1`, [conversation.id])).toEqual([]);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });
  });

  describe('channel connectors', () => {
    it('stores one message for 10 concurrent identical posts, and reuses the customer and its open conversation', async () => {
      const connector = (await cc.post('/api-keys', { name: 'line', role: 'connector' }).expect(201)).body;
      const r = await receiver();
      const hook = await subscribe(r.url, { events: ['message.created', 'conversation.created'], channels: ['line'] });
      const agent = await cc.agent();
      const externalId = `U${Date.now()}`;
      const body = { externalId, name: 'Line User', text: 'hello from line', externalMessageId: `line-${Date.now()}` };
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => t.http.post('/api/v1/channels/line/inbound').set(bearer(connector.key)).send(body)),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201].sort());
      const ids = new Set(answers.map((a) => a.body.message.id));
      expect(ids.size).toBe(1);
      const { customer, conversation, message } = answers.find((a) => a.status === 201)!.body;
      expect(customer).toEqual({ id: expect.any(Number), name: 'Line User', email: null, externalId });
      expect(conversation).toMatchObject({ channel: 'line', customerId: customer.id });
      expect(message).toMatchObject({ conversationId: conversation.id, senderType: 'customer', senderId: customer.id, text: 'hello from line' });
      const history = await t.http.get(`/api/v1/conversations/${conversation.id}/messages`).set(bearer(admin)).expect(200);
      expect(history.body.data).toHaveLength(1);

      // The next message of that user lands in the same conversation; a repeat of the first is a 200.
      const next = await t.http.post('/api/v1/channels/line/inbound').set(bearer(connector.key)).send({ ...body, text: 'second', externalMessageId: `${body.externalMessageId}-2` }).expect(201);
      expect(next.body.conversation.id).toBe(conversation.id);
      expect(next.body.customer.id).toBe(customer.id);
      const again = await t.http.post('/api/v1/channels/line/inbound').set(bearer(connector.key)).send(body).expect(200);
      expect(again.body.message).toEqual(message);
      // The same externalId on another channel is another customer.
      const other = await t.http.post('/api/v1/channels/facebook/inbound').set(bearer(connector.key)).send({ ...body, externalMessageId: 'fb-1' }).expect(201);
      expect(other.body.customer.id).not.toBe(customer.id);

      // Events name the connector's key; the agent's reply reaches the connector's webhook.
      const convo = await cc.conversation(conversation.id);
      const replier = convo.agentId === agent.id ? agent : null;
      if (replier) await cc.post(`/conversations/${conversation.id}/messages`, { text: 'agent reply' }, replier.token).expect(201);
      else await cc.post(`/conversations/${conversation.id}/messages`, { text: 'agent reply' }).expect(201);
      const calls = await callsAbout(r, conversation.id, 4);
      expect(calls.map((c) => [c.body.type, c.body.actor.type])).toEqual([
        ['conversation.created', 'api-key'],
        ['message.created', 'api-key'],
        ['message.created', 'api-key'],
        ['message.created', replier ? 'agent' : 'admin'],
      ]);
      expect(calls[1].body.actor.id).toBe(connector.id);
      expect(calls[1].body.data.customer).toEqual({ id: customer.id, name: 'Line User', email: null, externalId });
      expect(calls[3].body.data.message.text).toBe('agent reply');

      await t.http.post('/api/v1/channels/Bad Channel!/inbound').set(bearer(connector.key)).send(body).expect(400);
      await t.http.post('/api/v1/channels/line/inbound').set(bearer(connector.key)).send({ ...body, text: '' }).expect(400);
      await t.http.post('/api/v1/channels/line/inbound').send(body).expect(401);
      await t.http.post('/api/v1/channels/line/inbound').set(bearer(agent.token)).send(body).expect(403);
      await t.http.delete(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(204);
    });

    it('answers one stored message when posts of one externalMessageId come from different users at once (no 500)', async () => {
      const connector = (await cc.post('/api-keys', { name: 'wechat', role: 'connector' }).expect(201)).body;
      const externalMessageId = `wx-${Date.now()}`;
      // Different externalIds are not serialised by the per-user lock: the unique index decides.
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.http.post('/api/v1/channels/wechat/inbound').set(bearer(connector.key)).send({ externalId: `W${i}-${externalMessageId}`, text: `same id ${i}`, externalMessageId }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(answers.map((a) => a.body.message.id)).size).toBe(1);
      const db = t.app.get(DataSource);
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM messages WHERE text LIKE 'same id %' AND client_message_id = $1`, [externalMessageId]);
      expect(n).toBe(1);
    });

    it('leaves nothing behind when its last step fails, so a retry after the conversation ended stores the text once', async () => {
      const connector = (await cc.post('/api-keys', { name: 'viber', role: 'connector' }).expect(201)).body;
      const db = t.app.get(DataSource);
      const externalId = `V${Date.now()}`;
      const text = `only once ${externalId}`;
      const post = (body: Record<string, unknown>) => t.http.post('/api/v1/channels/viber/inbound').set(bearer(connector.key)).send({ externalId, name: 'Viber User', ...body });
      const stored = async () => ({
        customers: (await db.query(`SELECT count(*)::int AS n FROM channel_customers WHERE channel = 'viber' AND external_id = $1`, [externalId]))[0].n,
        messages: (await db.query(`SELECT count(*)::int AS n FROM messages WHERE text = $1`, [text]))[0].n,
      });
      // A fault in this test's database: recording this externalMessageId (the inbound's last write) fails.
      await db.query(`CREATE FUNCTION test_fail_link() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$`);
      await db.query(`CREATE TRIGGER test_fail_link BEFORE INSERT ON channel_messages FOR EACH ROW WHEN (NEW.external_message_id = 'vb-fault') EXECUTE FUNCTION test_fail_link()`);
      try {
        await post({ text, externalMessageId: 'vb-fault' }).expect(500);
        expect(await stored()).toEqual({ customers: 0, messages: 0 });
        // The same user's next message (another id) goes through: the failed one left no open conversation behind.
        const next = await post({ text: 'a later message', externalMessageId: 'vb-next' }).expect(201);
        await cc.post(`/conversations/${next.body.conversation.id}/resolve`, {}).expect(200);
        expect(await stored()).toEqual({ customers: 1, messages: 0 });
      } finally {
        await db.query(`DROP TRIGGER test_fail_link ON channel_messages; DROP FUNCTION test_fail_link()`);
      }
      // The connector retries the failed post after the conversation ended: its text is stored once, in a new conversation.
      const retried = await post({ text, externalMessageId: 'vb-fault' }).expect(201);
      expect(retried.body.message.text).toBe(text);
      await post({ text, externalMessageId: 'vb-fault' }).expect(200);
      expect(await stored()).toEqual({ customers: 1, messages: 1 });
    });
  });
});

// Two instances need one PostgreSQL database (the embedded engine is one process's).
describeWith(['postgres'], 'Event webhooks when an instance dies (e2e)', () => {
  let b: TestApp;
  let a: AppProcess;
  let r: WebhookReceiver;
  const env = { WEBHOOK_RETRY_SCALE: '0.01', WEBHOOK_POLL_MS: '50' };

  beforeAll(async () => {
    b = await createTestApp({ env });
    a = await AppProcess.start({ databaseUrl: b.databaseUrl!, env });
    r = await WebhookReceiver.start();
  }, 90000);
  afterAll(async () => {
    await a?.stop();
    await r?.close();
    await b?.close();
  });

  it("sends a killed instance's pending deliveries from the other instance, each attempt once", async () => {
    const admin = await loginAdmin(b);
    r.answerWith(() => 500);
    const hook = (await b.http.post('/api/v1/webhooks').set(bearer(admin)).send({ url: r.url, events: ['conversation.created', 'message.created'] }).expect(201)).body;
    // Changes made on A: their events are in A's transactions.
    const started: number[] = [];
    for (let i = 0; i < 5; i++) {
      const session = await (await fetch(`${a.url}/api/v1/customers/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).json();
      const res = await fetch(`${a.url}/api/v1/conversations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...bearer(session.accessToken) },
        body: JSON.stringify({ channel: 'crash', text: `hello ${i}` }),
      });
      expect(res.status).toBe(201);
      started.push((await res.json()).id);
    }
    await eventually(async () => r.calls.length >= 10);
    await a.kill();
    r.answerWith(() => 200);
    const db = b.app.get(DataSource);
    await eventually(async () => {
      const pending: unknown[] = await db.query(`SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1 AND status <> 'delivered'`, [hook.id]);
      return pending.length === 0;
    }, 40000, 200);
    const deliveries: { uid: string; type: string; conversation_id: number; attempts: number }[] = await db.query(
      `SELECT e.uid, e.type, e.conversation_id, d.attempts FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id WHERE d.webhook_id = $1`,
      [hook.id],
    );
    // Nothing lost: both events of every conversation started on A were delivered.
    expect(deliveries.filter((d) => d.type === 'conversation.created').map((d) => d.conversation_id).sort()).toEqual([...started].sort());
    expect(deliveries.filter((d) => d.type === 'message.created')).toHaveLength(5);
    for (const d of deliveries) {
      const calls = r.calls.filter((c) => c.body.id === d.uid);
      // Every call was a claimed attempt (none sent twice at once), and the last one succeeded.
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls.length).toBeLessThanOrEqual(d.attempts);
    }
  }, 90000);
});

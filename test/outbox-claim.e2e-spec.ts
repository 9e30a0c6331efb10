import { DataSource } from 'typeorm';
import { OutboxRepository, recordEvent } from '@cc/database';
import { createTestApp, TestApp } from './utils/create-test-app';

/**
 * The dispatcher's statements on the real database: a 2xx answer recorded together with the
 * next claim frees the conversation's next event in that same statement, and only when the
 * answer belongs to the attempt that holds the row.
 */
describe('Outbox claims (e2e)', () => {
  let t: TestApp;
  let db: DataSource;
  let outbox: OutboxRepository;
  let webhookId: number;

  beforeAll(async () => {
    // The app's own dispatcher never claims (its first claim at boot ran in the background and, on
    // a loaded machine, could come after the first rows below): they are claimed by the test alone.
    t = await createTestApp({ env: { WEBHOOK_DISPATCH: 'false' } });
    db = t.app.get(DataSource);
    outbox = t.app.get(OutboxRepository);
    [{ id: webhookId }] = await db.query(`INSERT INTO webhooks (url, events, secret) VALUES ('http://127.0.0.1:9/hook', '{message.created}', 's') RETURNING id`);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Stores an event of `conversationId` with its delivery; answers the delivery's id. */
  async function event(conversationId: number, text: string): Promise<string> {
    const [{ id }] = await db.query(
      `WITH e AS (INSERT INTO outbox_events (type, conversation_id, channel, actor, data)
         VALUES ('message.created', $1, 'web', '{"type":"customer","id":7}', jsonb_build_object('message', jsonb_build_object('text', $2::text))) RETURNING id)
       INSERT INTO webhook_deliveries (event_id, webhook_id, conversation_id) SELECT e.id, $3, $1 FROM e RETURNING id`,
      [conversationId, text, webhookId],
    );
    return String(id);
  }

  const status = async (id: string) => (await db.query(`SELECT status FROM webhook_deliveries WHERE id = $1`, [id]))[0].status;

  it('claims heads only; a recorded answer claims the next event of its conversation in the same statement, a stale one does not', async () => {
    const a1 = await event(1001, 'a1');
    const a2 = await event(1001, 'a2');
    const b1 = await event(1002, 'b1');
    const b2 = await event(1002, 'b2');

    const first = await outbox.claim(10, 15);
    expect(first.map((d) => d.id).sort()).toEqual([a1, b1].sort());
    const claimedA1 = first.find((d) => d.id === a1)!;
    expect(JSON.parse(claimedA1.body)).toEqual({
      id: claimedA1.eventUid,
      type: 'message.created',
      occurredAt: claimedA1.occurredAt.toISOString(),
      actor: { type: 'customer', id: 7 },
      data: { message: { text: 'a1' } },
    });

    // a1 answered 200: recorded, and a2 claimed by the same statement. b1's answer comes from
    // an attempt that no longer holds the row (attempt 0): nothing changes for b1 or b2.
    const next = await outbox.deliveredAndClaim(
      [
        { id: a1, attempt: claimedA1.attempts, statusCode: 200 },
        { id: b1, attempt: 0, statusCode: 200 },
      ],
      10,
      15,
    );
    expect(next.map((d) => d.id)).toEqual([a2]);
    expect(await status(a1)).toBe('delivered');
    expect(await status(b1)).toBe('pending');
    expect(await outbox.claim(10, 15)).toEqual([]);

    // With no room to claim, the answer is still recorded.
    const b1Attempt = first.find((d) => d.id === b1)!.attempts;
    expect(await outbox.deliveredAndClaim([{ id: b1, attempt: b1Attempt, statusCode: 204 }], 0, 15)).toEqual([]);
    expect(await status(b1)).toBe('delivered');
    expect((await outbox.claim(10, 15)).map((d) => d.id)).toEqual([b2]);
  });
  it('holds the events behind a head that waits for a retry out of the due ones, and releases them one by one as heads settle', async () => {
    const line = 3001;
    // Through the outbox's own insert (recordEvent outside a transaction inserts at once).
    const store = (text: string) =>
      recordEvent(db.manager, { type: 'message.created', conversationId: line, channel: 'web', actor: { type: 'customer', id: 7 }, data: { message: { text } } });
    const ofLine = async () =>
      (await db.query(
        `SELECT d.id::text AS id, e.data->'message'->>'text' AS text, d.status, d.next_attempt_at > now() AS later, d.next_attempt_at
         FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id WHERE d.conversation_id = $1 ORDER BY d.event_id`,
        [line],
      )) as { id: string; text: string; status: string; later: boolean; next_attempt_at: Date }[];

    await store('h');
    const [head] = await outbox.claim(10, 15);
    expect(JSON.parse(head.body).data.message.text).toBe('h');
    await store('f0'); // stored while the head is in flight: due, but not claimable
    await outbox.attemptFailed(head.id, head.attempts, 500, 'HTTP 500', 30);
    await store('f1');
    await store('f2');
    let rows = await ofLine();
    expect(rows.map((r) => [r.text, r.status, r.later])).toEqual([
      ['h', 'pending', true],
      ['f0', 'pending', true],
      ['f1', 'pending', true],
      ['f2', 'pending', true],
    ]);
    // None of them is due before the head's retry: a claim visits none of them.
    for (const r of rows.slice(1)) expect(r.next_attempt_at.getTime()).toBeGreaterThanOrEqual(rows[0].next_attempt_at.getTime());
    expect(await outbox.claim(10, 15)).toEqual([]);

    // The head retried now and delivered: the next one (only) is due at once, then claimed.
    await outbox.retryNow(webhookId, Number(head.id));
    const [again] = await outbox.claim(10, 15);
    expect(again.id).toBe(head.id);
    await outbox.deliveredAndClaim([{ id: again.id, attempt: again.attempts, statusCode: 200 }], 0, 15);
    rows = await ofLine();
    expect(rows.map((r) => [r.text, r.status, r.later])).toEqual([
      ['h', 'delivered', false],
      ['f0', 'pending', false],
      ['f1', 'pending', true],
      ['f2', 'pending', true],
    ]);
    const [f0] = await outbox.claim(10, 15);
    expect(f0.id).toBe(rows[1].id);

    // Given up for good, the head no longer holds the line: the next one is due at once.
    await outbox.attemptFailed(f0.id, f0.attempts, null, 'No answer within 10 s', null);
    const [f1] = await outbox.claim(10, 15);
    expect(f1.id).toBe(rows[2].id);
    await outbox.deliveredAndClaim([{ id: f1.id, attempt: f1.attempts, statusCode: 200 }], 0, 15);
    const [f2] = await outbox.claim(10, 15);
    expect(f2.id).toBe(rows[3].id);
    expect((await ofLine()).map((r) => r.status)).toEqual(['delivered', 'failed', 'delivered', 'pending']);
  });

  it('parks the events behind a head in flight, and the answer to the head hands the next one over leased, within the room of the statement', async () => {
    const store = (line: number, text: string) =>
      recordEvent(db.manager, { type: 'message.created', conversationId: line, channel: 'web', actor: { type: 'customer', id: 7 }, data: { message: { text } } });
    const ofLine = async (line: number) =>
      (await db.query(
        `SELECT d.id::text AS id, e.data->'message'->>'text' AS text, d.status, d.attempts, d.next_attempt_at > now() AS later
         FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id WHERE d.conversation_id = $1 ORDER BY d.event_id`,
        [line],
      )) as { id: string; text: string; status: string; attempts: number; later: boolean }[];

    await store(4001, 'x');
    await store(4002, 'y');
    const heads = await outbox.claim(10, 15);
    expect(heads.map((h) => JSON.parse(h.body).data.message.text).sort()).toEqual(['x', 'y']);
    for (const line of [4001, 4002]) for (const text of ['1', '2']) await store(line, `${line}-${text}`);
    // Stored while their heads are in flight: parked, not due, so a claim does not even visit them.
    for (const line of [4001, 4002]) expect((await ofLine(line)).slice(1).map((r) => [r.status, r.later])).toEqual([['pending', true], ['pending', true]]);
    expect(await outbox.claim(10, 15)).toEqual([]);

    // Both heads answered with room for one: one next event is leased by the same statement, the other made due.
    const answered = await outbox.deliveredAndClaim(heads.map((h) => ({ id: h.id, attempt: h.attempts, statusCode: 200 })), 1, 15);
    expect(answered).toHaveLength(1);
    const [leasedLine, dueLine] = JSON.parse(answered[0].body).data.message.text.startsWith('4001') ? [4001, 4002] : [4002, 4001];
    expect(answered[0].attempts).toBe(1);
    expect((await ofLine(leasedLine)).map((r) => [r.text, r.status, r.attempts])).toEqual([
      [leasedLine === 4001 ? 'x' : 'y', 'delivered', 1],
      [`${leasedLine}-1`, 'pending', 1],
      [`${leasedLine}-2`, 'pending', 0],
    ]);
    expect((await ofLine(leasedLine))[2].later).toBe(true);
    expect((await ofLine(dueLine)).slice(1).map((r) => [r.text, r.status, r.attempts, r.later])).toEqual([
      [`${dueLine}-1`, 'pending', 0, false],
      [`${dueLine}-2`, 'pending', 0, true],
    ]);
    // The one made due is claimed next; the leased one is not claimed twice.
    const next = await outbox.claim(10, 15);
    expect(next.map((d) => JSON.parse(d.body).data.message.text)).toEqual([`${dueLine}-1`]);

    // Answered with no room: the next event is only made due, not leased.
    expect(await outbox.deliveredAndClaim([{ id: answered[0].id, attempt: 1, statusCode: 200 }], 0, 15)).toEqual([]);
    const after = await ofLine(leasedLine);
    expect(after.map((r) => [r.status, r.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 1],
      ['pending', 0],
    ]);
    expect(after[2].later).toBe(false);
    expect((await outbox.claim(10, 15)).map((d) => JSON.parse(d.body).data.message.text)).toEqual([`${leasedLine}-2`]);
  });
});

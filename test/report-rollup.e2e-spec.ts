import { DataSource } from 'typeorm';
import { ReportRollupService, ReportsService } from '@cc/statistics';
import { ContactCenter } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { describeWith } from './utils/requires';

const api = '/api/v1';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/**
 * The conversation report from the rollup (slots up to a watermark + raw rows for the rest) must
 * equal the report from raw rows alone, for any range, zone and queue, whatever happened after a
 * slot was rolled up (docs/statistics.md, "Rollup").
 */
describe('Report rollup (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;
  let db: DataSource;
  let reports: ReportsService;
  let rollup: ReportRollupService;
  let queueIds: number[];
  let agentId: number;
  let customerId: number;
  let now: number;

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
    db = t.app.get(DataSource);
    reports = t.app.get(ReportsService);
    rollup = t.app.get(ReportRollupService);
    queueIds = [(await cc.queue({ slaSeconds: 30 })).id, (await cc.queue({ slaSeconds: 60 })).id, (await cc.queue({ slaSeconds: 120 })).id];
    agentId = (await cc.agent({ queueIds }, { login: false })).id;
    customerId = (await cc.customer()).id;
    const [{ at }]: { at: Date }[] = await db.query(`SELECT now() AS at`);
    now = new Date(at).getTime();
    // 1,200 conversations over the last 60 days (two DST changes: Europe on Oct 25, America on Nov 1),
    // with microsecond times: 10% abandoned, 10% still waiting, 10% still active, the rest resolved
    // (some in the future); a first reply for three in four assigned ones; a transfer for one in seven.
    const [{ first }]: { first: number }[] = await db.query(
      `WITH c AS (INSERT INTO customers (name) SELECT 'Rollup ' || g FROM generate_series(1, 1200) g RETURNING id) SELECT min(id) AS first FROM c`,
    );
    await db.query(
      `WITH g AS (
         SELECT g, g % 10 AS kind,
                now() - ((g::bigint * 829348951) % 5184000000) * interval '1 millisecond' - (g * 31 % 1000) * interval '1 microsecond' AS created,
                ((g * 7) % 200) * interval '1 second' + (g % 1000) * interval '1 millisecond' + (g % 7) * interval '1 microsecond' AS wait,
                ((g * 13) % 90) * interval '1 second' + (g % 997) * interval '1 microsecond' AS response,
                ((g * 17) % 3600) * interval '1 second' + (g % 991) * interval '1 microsecond' AS handle
         FROM generate_series(1, 1200) g
       ), c AS (
         SELECT g.*, CASE WHEN kind IN (0, 1) THEN NULL ELSE created + wait END AS assigned FROM g
       )
       INSERT INTO conversations (customer_id, agent_id, queue_id, status, created_at, waiting_since, assigned_at, first_assigned_at,
                                  first_response_at, first_response_agent_id, resolved_at, resolved_by)
       SELECT $1::int + g - 1, CASE WHEN assigned IS NULL THEN NULL ELSE $2::int END, ($3::int[])[1 + g % 3],
              CASE kind WHEN 1 THEN 'queued' WHEN 2 THEN 'active' ELSE 'resolved' END,
              created, created, assigned, assigned,
              CASE WHEN assigned IS NOT NULL AND g % 4 <> 0 THEN assigned + response END,
              CASE WHEN assigned IS NOT NULL AND g % 4 <> 0 THEN $2::int END,
              CASE kind WHEN 0 THEN created + (g % 300) * interval '1 second' WHEN 1 THEN NULL WHEN 2 THEN NULL ELSE assigned + handle END,
              CASE kind WHEN 0 THEN 'customer' WHEN 1 THEN NULL WHEN 2 THEN NULL ELSE 'agent' END
       FROM c`,
      [first, agentId, queueIds],
    );
    await db.query(
      `INSERT INTO conversation_transfers (conversation_id, at, from_agent_id, to_agent_id, from_queue_id, to_queue_id)
       SELECT id, first_assigned_at + interval '10 seconds', agent_id, agent_id, queue_id, queue_id
       FROM conversations WHERE first_assigned_at IS NOT NULL AND id % 7 = 0`,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  const iso = (ms: number) => new Date(ms).toISOString();
  /** Ranges aligned and not aligned to slots, in zones with offsets of whole hours, +5:30, +5:45, and across DST changes. */
  const cases = () => {
    const ranges: [number, number][] = [
      [now - 61 * DAY, now + DAY],
      [now - 45 * DAY + 7 * MIN + 13_500, now - 2 * HOUR + 3_250],
      [now - 40 * DAY + 1, now - 20 * DAY],
      [now - 11 * DAY - 7 * MIN, now - 9 * DAY + 1],
      [now - 30 * DAY + MIN, now - 30 * DAY + 14 * MIN],
      [now - 3 * HOUR - 1, now + 5 * MIN],
    ];
    const out: { from: string; to: string; interval: 'hour' | 'day'; tz: string; queueId?: number }[] = [];
    for (const [from, to] of ranges) {
      for (const tz of ['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'Europe/Berlin']) {
        out.push({ from: iso(from), to: iso(to), interval: 'day', tz });
      }
      out.push({ from: iso(from), to: iso(to), interval: 'hour', tz: 'Asia/Kathmandu' });
      out.push({ from: iso(from), to: iso(to), interval: 'hour', tz: 'America/New_York', queueId: queueIds[1] });
      out.push({ from: iso(from), to: iso(to), interval: 'day', tz: 'Asia/Kolkata', queueId: queueIds[0] });
    }
    return out;
  };

  async function expectRollupEqualsRaw(): Promise<void> {
    for (const query of cases()) {
      const [rolled, raw] = [await reports.conversations(query), await reports.conversations(query, { rollup: false })];
      expect({ query, report: rolled }).toEqual({ query, report: raw });
    }
  }

  /** The all-queues slots are the sums of the per-queue slots. */
  async function expectTotalsEqualQueueSlots(): Promise<void> {
    const measures = ['started', 'assigned', 'wait_us', 'in_sla', 'resolved', 'abandoned', 'handle_us', 'handled', 'response_us', 'responded', 'transferred'];
    const [{ n }]: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM conversation_report_totals t
       FULL JOIN (SELECT slot, ${measures.map((m) => `sum(${m}) AS ${m}`).join(', ')}, max(wait_max_us) AS wait_max_us FROM conversation_report_slots GROUP BY slot) q
         ON q.slot = t.slot
       WHERE t.slot IS NULL OR q.slot IS NULL OR t.wait_max_us IS DISTINCT FROM q.wait_max_us OR ${measures.map((m) => `t.${m} <> q.${m}`).join(' OR ')}`,
    );
    expect(n).toBe(0);
  }

  const watermark = async () => {
    const [row]: { w: Date }[] = await db.query(`SELECT rolled_until AS w FROM conversation_report_watermark`);
    return new Date(row.w).getTime();
  };
  const rawTotal = async (from: number, to: number) => (await reports.conversations({ from: iso(from), to: iso(to), interval: 'day', tz: 'UTC' }, { rollup: false })).total;

  it('gives the raw report for any range and zone, with part of the history rolled up (two instances rolling at once)', async () => {
    // From scratch, to ten days ago: the last ten days are read raw.
    await rollup.reset();
    const [one, two] = await Promise.all([rollup.rollUp(10 * 86_400), rollup.rollUp(10 * 86_400)]);
    expect([one, two]).toContain(true);
    const w = await watermark();
    expect(w).toBeGreaterThan(now - 10 * DAY - 2 * MIN);
    const [{ n }]: { n: number }[] = await db.query(`SELECT count(*)::int AS n FROM conversation_report_slots`);
    expect(n).toBeGreaterThan(100);
    // Each conversation resolved before the watermark is in the slots exactly once.
    const [{ resolved }]: { resolved: number }[] = await db.query(`SELECT sum(resolved)::int AS resolved FROM conversation_report_slots`);
    await expectTotalsEqualQueueSlots();
    const [{ rolled }]: { rolled: number }[] = await db.query(
      `SELECT count(*)::int AS rolled FROM conversations WHERE resolved_at < $1 AND id <= (SELECT rolled_id FROM conversation_report_watermark)`,
      [iso(w)],
    );
    expect(resolved).toBe(rolled);
    expect(rolled).toBeGreaterThan(400);
    await expectRollupEqualsRaw();
  });

  it('reads the slots: a changed slot changes the rollup report (and not the raw one)', async () => {
    const [slot]: { slot: Date }[] = await db.query(
      `SELECT slot FROM conversation_report_totals WHERE started > 0 AND slot > $1 ORDER BY slot LIMIT 1`,
      [iso(now - 59 * DAY)],
    );
    const query = { from: iso(now - 61 * DAY), to: iso(now + DAY), interval: 'day' as const, tz: 'UTC' };
    const raw = await reports.conversations(query, { rollup: false });
    await db.query(`UPDATE conversation_report_totals SET started = started + 1000 WHERE slot = $1`, [slot.slot]);
    try {
      expect((await reports.conversations(query)).total.started).toBe(raw.total.started + 1000);
      expect((await reports.conversations(query, { rollup: false })).total.started).toBe(raw.total.started);
    } finally {
      await db.query(`UPDATE conversation_report_totals SET started = started - 1000 WHERE slot = $1`, [slot.slot]);
    }
  });

  it('counts events that arrive after their conversation was rolled up, and conversations resolved later', async () => {
    const w = await watermark();
    // A first reply now to a conversation resolved (and rolled up) long ago; an old open one resolved now.
    const [late]: { id: number }[] = await db.query(
      `UPDATE conversations SET first_response_at = now(), first_response_agent_id = $2
       WHERE id = (SELECT id FROM conversations WHERE status = 'resolved' AND first_assigned_at IS NOT NULL
                   AND first_response_at IS NULL AND resolved_at < $1 ORDER BY id LIMIT 1) RETURNING id`,
      [iso(w), agentId],
    );
    expect(late).toBeDefined();
    const [open]: { id: number }[] = await db.query(
      `UPDATE conversations SET status = 'resolved', resolved_at = now(), resolved_by = 'agent'
       WHERE id = (SELECT id FROM conversations WHERE status = 'active' AND created_at < $1 ORDER BY id LIMIT 1) RETURNING id`,
      [iso(w - DAY)],
    );
    expect(open).toBeDefined();
    // History imported with past times after the rollup passed them: a higher id, so read raw.
    await db.query(
      `INSERT INTO conversations (customer_id, agent_id, queue_id, status, created_at, waiting_since, assigned_at, first_assigned_at, resolved_at, resolved_by)
       VALUES ($1, $2, $3, 'resolved', $4, $4, $5, $5, $6, 'agent')`,
      [customerId, agentId, queueIds[1], iso(w - 20 * DAY), iso(w - 20 * DAY + 5_000), iso(w - 20 * DAY + 600_000)],
    );
    await expectRollupEqualsRaw();
    // Rolled up to (nearly) now, the late reply and the late resolution move into the slots.
    expect(await rollup.rollUp(0)).toBe(true);
    expect(await watermark()).toBeGreaterThan(now - MIN);
    await expectRollupEqualsRaw();
  });

  it('recounts the service level of rolled-up slots when a queue changes its target', async () => {
    await t.http.patch(`${api}/queues/${queueIds[0]}`).set(bearer(cc.admin)).send({ slaSeconds: 10 }).expect(200);
    const stale = async () =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM conversation_report_queues r JOIN queues q ON q.id = r.queue_id WHERE r.sla_seconds IS DISTINCT FROM q.sla_seconds`,
        )
      )[0].n as number;
    expect(await stale()).toBeGreaterThan(0);
    await expectRollupEqualsRaw(); // slots with the old target: their in_sla read raw
    expect(await rollup.rollUp(0)).toBe(true);
    expect(await stale()).toBe(0);
    await expectTotalsEqualQueueSlots();
    await expectRollupEqualsRaw();
  });

  // A second session beside the app's: PostgreSQL (the embedded engine runs one session).
  describeWith(['postgres'], 'beside an open transaction', () => {
    it('never rolls past a transaction still open, so what it commits afterwards is counted', async () => {
      const runner = db.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        // Stamped with the transaction's start (now()), committed only after the rollup ran.
        const [{ started }]: { started: Date }[] = await runner.query(`SELECT now() AS started`);
        await runner.query(
          `INSERT INTO conversations (customer_id, queue_id, status, created_at, waiting_since, resolved_at, resolved_by)
           VALUES ($1, $2, 'resolved', now() - interval '30 seconds', now() - interval '30 seconds', now(), 'customer')`,
          [customerId, queueIds[2]],
        );
        await new Promise((r) => setTimeout(r, 1100));
        const before = await rawTotal(now - 61 * DAY, now + DAY);
        expect(await rollup.rollUp(0)).toBe(true);
        expect(await watermark()).toBeLessThanOrEqual(new Date(started).getTime());
        await runner.commitTransaction();
        const after = await rawTotal(now - 61 * DAY, now + DAY);
        expect(after).toMatchObject({ started: before.started + 1, resolved: before.resolved + 1, abandoned: before.abandoned + 1 });
        await expectRollupEqualsRaw();
        expect(await rollup.rollUp(0)).toBe(true);
        await expectRollupEqualsRaw();
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    });
  });

  it('answers the route from the same path', async () => {
    const query = { from: iso(now - 45 * DAY + 7 * MIN), to: iso(now - HOUR), interval: 'day' as const, tz: 'Asia/Kathmandu', queueId: queueIds[2] };
    const res = await t.http.get(`${api}/reports/conversations`).query(query).set(bearer(cc.admin)).expect(200);
    expect(res.body).toEqual(await reports.conversations(query, { rollup: false }));
  });
});

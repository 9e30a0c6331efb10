import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { InvalidError } from '@cc/common';
import { withTransaction } from '@cc/database';
import type { AgentReportView, ConversationMeasures, ConversationReport } from '@cc/protocol';

export type { AgentReportView, ConversationMeasures, ConversationReport } from '@cc/protocol';
import { ConversationReportQuery, ReportRangeQuery } from './report.dto';
import { ReportRollupRepository, SLOT_MS } from './report-rollup.repository';
import { AgentReportRow, ConversationBucketRow, ConversationFilter, Interval, ReportsRepository } from './reports.repository';

export const MAX_RANGE_DAYS = 366;

/** The columns of a bucket, in CSV order. */
export const BUCKET_COLUMNS = [
  'start',
  'started',
  'assigned',
  'resolved',
  'abandoned',
  'transferred',
  'avgWaitSeconds',
  'maxWaitSeconds',
  'avgHandleSeconds',
  'avgFirstResponseSeconds',
  'serviceLevel',
] as const;

/** Reports over a time range (API.md section 13). The total is summed from the buckets, so the two always agree. */
@Injectable()
export class ReportsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: ReportsRepository,
    private readonly rollup: ReportRollupRepository,
  ) {}

  /** `rollup: false` reads raw rows only (the reference the rollup path is checked against). */
  async conversations(query: ConversationReportQuery, { rollup = true }: { rollup?: boolean } = {}): Promise<ConversationReport> {
    const { from, to } = range(query);
    const tz = timeZone(query.tz);
    const filter = { queueId: query.queueId, agentId: query.agentId };
    let rows: ConversationBucketRow[];
    try {
      // One snapshot for the watermark, the slots and the raw rows (a rollup step committing in between would count twice).
      rows = await this.dataSource.transaction('REPEATABLE READ', (manager) => this.buckets(manager, from, to, query.interval, tz, filter, rollup));
    } catch (err) {
      // A zone the JavaScript runtime knows but PostgreSQL does not.
      if ((err as { code?: string; driverError?: { code?: string } }).code === '22023' || (err as { driverError?: { code?: string } }).driverError?.code === '22023') {
        throw new InvalidError('tz must be an IANA time zone');
      }
      throw err;
    }
    const sum = (pick: (r: ConversationBucketRow) => number | null) => rows.reduce((s, r) => s + Number(pick(r) ?? 0), 0);
    const maxWait = rows.reduce<number | null>((m, r) => (r.wait_max === null ? m : Math.max(m ?? 0, Number(r.wait_max))), null);
    const total = measures({
      started: sum((r) => r.started),
      assigned: sum((r) => r.assigned),
      resolved: sum((r) => r.resolved),
      abandoned: sum((r) => r.abandoned),
      transferred: sum((r) => r.transferred),
      wait_sum: sum((r) => r.wait_sum),
      wait_max: maxWait,
      in_sla: sum((r) => r.in_sla),
      handle_sum: sum((r) => r.handle_sum),
      handled: sum((r) => r.handled),
      response_sum: sum((r) => r.response_sum),
      responded: sum((r) => r.responded),
    });
    return { buckets: rows.map((r) => ({ start: new Date(r.start).toISOString(), ...measures(r) })), total };
  }

  private async buckets(manager: EntityManager, from: Date, to: Date, interval: Interval, tz: string, filter: ConversationFilter, rollup: boolean) {
    await this.repo.prepareBuckets(manager, tz);
    // The rollup has no agent dimension (an agent's conversations are few: its index is enough).
    const watermark = rollup && filter.agentId === undefined ? await this.rollup.watermark(manager) : null;
    const w = watermark?.at ?? null;
    const a = new Date(Math.ceil(from.getTime() / SLOT_MS) * SLOT_MS);
    const b = new Date(Math.floor(to.getTime() / SLOT_MS) * SLOT_MS);
    if (!watermark || !w || w.getTime() <= a.getTime() || a.getTime() >= b.getTime() || !(await this.repo.slotsAlign(manager, a, b, interval, tz))) {
      return this.repo.conversationBuckets(manager, from, to, interval, tz, filter);
    }
    const t = new Date(Math.max(a.getTime(), Math.min(w.getTime(), b.getTime())));
    return this.repo.conversationBucketsRolledUp(manager, from, to, interval, tz, filter.queueId, { a, t, b, w, i: watermark.id });
  }

  async agents(query: ReportRangeQuery): Promise<AgentReportView[]> {
    const { from, to } = range(query);
    // Two reads side by side on two connections (each about half of the work): the time in state
    // and the counts are independent measures, each consistent in its own snapshot.
    const read = <T>(query: (manager: EntityManager) => Promise<T>) =>
      withTransaction(this.dataSource, async (manager) => {
        await this.repo.withoutJit(manager);
        return query(manager);
      });
    const [counts, states] = await Promise.all([read((m) => this.repo.agentCounts(m, from, to)), read((m) => this.repo.agentSeconds(m, from, to))]);
    const secondsOf = new Map(states.map((s) => [s.agent_id, s.seconds_by_state]));
    const rows: AgentReportRow[] = counts.map((c) => ({ ...c, seconds_by_state: secondsOf.get(c.id) ?? {} }));
    return rows.map((r) => {
      const s = r.seconds_by_state;
      return {
        agentId: r.id,
        name: r.name,
        secondsByState: {
          offline: seconds(s.offline),
          available: seconds(s.available),
          busy: seconds(s.busy),
          paused: seconds(s.paused),
          wrapUp: seconds(s['wrap-up']),
        },
        assigned: r.assigned,
        resolved: r.resolved,
        transferredOut: r.transferred_out,
        missedOffers: r.missed_offers,
        avgHandleSeconds: average(r.handle_sum, r.handled),
        avgFirstResponseSeconds: average(r.response_sum, r.responded),
      };
    });
  }
}

type Sums = Omit<ConversationBucketRow, 'start'>;

function measures(r: Sums): ConversationMeasures {
  const answeredOrAbandoned = r.assigned + r.abandoned;
  return {
    started: r.started,
    assigned: r.assigned,
    resolved: r.resolved,
    abandoned: r.abandoned,
    transferred: r.transferred,
    avgWaitSeconds: average(r.wait_sum, r.assigned),
    maxWaitSeconds: r.wait_max === null ? null : round(Number(r.wait_max)),
    avgHandleSeconds: average(r.handle_sum, r.handled),
    avgFirstResponseSeconds: average(r.response_sum, r.responded),
    serviceLevel: answeredOrAbandoned ? round(r.in_sla / answeredOrAbandoned, 4) : null,
  };
}

function average(sum: number | null, n: number): number | null {
  return n > 0 && sum !== null ? round(Number(sum) / n) : null;
}

function seconds(v: number | undefined): number {
  return v === undefined ? 0 : round(v);
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function range(query: ReportRangeQuery): { from: Date; to: Date } {
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new InvalidError('from and to must be ISO 8601 timestamps');
  if (to.getTime() <= from.getTime()) throw new InvalidError('to must be later than from');
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000) throw new InvalidError(`from and to may be at most ${MAX_RANGE_DAYS} days apart`);
  return { from, to };
}

/**
 * An IANA zone name ("UTC", "Europe/Berlin", "Etc/GMT+5"), known to the JavaScript runtime.
 * Offsets and POSIX strings ("+05:00", "EST5") are refused: PostgreSQL reads their sign inverted.
 * PostgreSQL checks the name again when it runs the report (unknown there → 400 as well).
 */
function timeZone(tz: string): string {
  const invalid = () => new InvalidError('tz must be an IANA time zone name such as UTC or Europe/Berlin');
  if (!/^[A-Za-z][A-Za-z0-9_-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) throw invalid();
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw invalid();
  }
  return tz;
}

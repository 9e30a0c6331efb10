import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { advisoryXactLock, LockKey, tryAdvisoryXactLock, withTransaction } from '@cc/database';
import { ReportRollupRepository } from './report-rollup.repository';

/** Period of the rollup job on each instance. */
export const ROLLUP_PERIOD_MS = 60_000;
/**
 * How long ago the watermark must be at least. Transactions of this app's role are seen in
 * pg_stat_activity (the watermark stays before their start); this covers sessions we cannot see.
 * Statements stop after DB_TIMEOUT_MS (5 s): a transaction of the app never stays open this long.
 */
export const ROLLUP_MARGIN_SECONDS = 120;
/** The most one step moves the watermark (a first catch-up over a year is many short steps). */
const STEP_DAYS = 1;

/**
 * Keeps the conversation report's rollup (docs/statistics.md, "Rollup") up to date: every instance
 * runs it every ROLLUP_PERIOD_MS; one run at a time across instances (an advisory lock that the
 * others skip), each step one transaction that moves the watermark with the slots, so a failed
 * or interrupted run leaves the previous watermark and its slots, and the report reads the rest raw.
 */
@Injectable()
export class ReportRollupService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ReportRollup');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: ReportRollupRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.runInBackground(), ROLLUP_PERIOD_MS);
    this.timer.unref();
    this.runInBackground();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * Rolls up as far as the margin allows (`marginSeconds`; tests pass a smaller one) and recounts
   * stale service levels. Answers false when another instance held the job.
   */
  async rollUp(marginSeconds = ROLLUP_MARGIN_SECONDS): Promise<boolean> {
    // Twice: the highest id seen by the first pass's last step is taken by the second pass.
    return (await this.pass(marginSeconds)) && (await this.pass(marginSeconds));
  }

  private async pass(marginSeconds: number): Promise<boolean> {
    for (;;) {
      if (this.stopped) return true;
      const step = await withTransaction(this.dataSource, async (manager) => {
        if (!(await tryAdvisoryXactLock(manager, LockKey.ReportRollup))) return 'busy' as const;
        const lo = await this.repo.watermark(manager, true);
        const next = await this.repo.nextWatermark(manager, lo, marginSeconds, STEP_DAYS);
        // Never backwards (a transaction open since before the watermark holds it where it is).
        const at = [lo.at, next.at].reduce<Date | null>((m, d) => (d && (!m || d.getTime() > m.getTime()) ? d : m), null);
        const hi = at ? { at, id: Math.max(lo.id, next.id) } : null;
        if (!hi || (lo.at !== null && hi.at.getTime() === lo.at.getTime() && hi.id === lo.id)) {
          // Caught up: recount the service level of slots whose queue changed its target.
          return lo.at && (await this.repo.recountServiceLevel(manager, { at: lo.at, id: lo.id })) ? ('more' as const) : ('done' as const);
        }
        await this.repo.rollUp(manager, lo, hi);
        await this.repo.setWatermark(manager, hi);
        return 'more' as const;
      });
      if (step === 'busy') return false;
      if (step === 'done') return true;
    }
  }

  /** Empties the rollup; the job rebuilds it (for history changed in the tables by hand, docs/statistics.md). */
  async reset(): Promise<void> {
    await withTransaction(this.dataSource, async (manager) => {
      await advisoryXactLock(manager, LockKey.ReportRollup);
      await this.repo.reset(manager);
    });
  }

  private runInBackground(): void {
    if (this.running || this.stopped) return;
    this.running = this.rollUp()
      .catch((err) => this.logger.warn(`Report rollup failed (reports read raw rows meanwhile): ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (this.running = null));
  }
}

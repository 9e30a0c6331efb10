import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { QueueStatsView, StatsService } from '@cc/statistics';
import { rooms, SocketHub } from './server-events';

export const STATS_PUSH_INTERVAL_MS = 1000;

/**
 * Pushes `stats.queues` to admin sockets at most once per second, only when the numbers changed.
 *
 * Each instance recomputes from the database once per interval while it holds admin sockets, and
 * pushes to its own (local) admin sockets only: a change made on any instance is in the database,
 * so every admin gets it once, from the instance it is connected to, however many instances run.
 * `longestWaitSeconds` grows by itself every second; it is left out of the comparison (it follows
 * from `oldestWaitingSince`), so a quiet line does not push every second.
 */
@Injectable()
export class StatsPush implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StatsPush');
  private timer: NodeJS.Timeout | null = null;
  private last: string | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;

  constructor(
    private readonly hub: SocketHub,
    private readonly stats: StatsService,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: recompute and push if changed. Answers whether it pushed. */
  async tick(): Promise<boolean> {
    // Nobody here to tell: no query. What was last computed stays the baseline for the next admin.
    if (!this.hub.hasLocal(rooms.admins)) return false;
    const queues = await this.stats.queues();
    const signature = JSON.stringify(queues.map(withoutClock));
    if (this.last === null) {
      // The first round with admins sets the baseline (they read GET /stats/queues when they connect).
      this.last = signature;
      return false;
    }
    if (signature === this.last) return false;
    this.last = signature;
    this.hub.sendLocal(rooms.admins, 'stats.queues', queues);
    return true;
  }

  private schedule(): void {
    if (this.stopped) return;
    // The next round starts a full interval after this one ended: never two pushes within a second.
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((err) => {
          if (!this.stopped) this.logger.warn(`Queue statistics failed: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, STATS_PUSH_INTERVAL_MS);
    this.timer.unref();
  }
}

function withoutClock(q: QueueStatsView): Omit<QueueStatsView, 'longestWaitSeconds'> {
  const { longestWaitSeconds: _clock, ...rest } = q;
  return rest;
}

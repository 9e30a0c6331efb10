import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { AgentState, DomainEventMap } from '@cc/common';
import { withTransaction } from '@cc/database';
import type { AgentStatsView, QueueStatsView } from '@cc/protocol';

export type { AgentStatsView, QueueStatsView } from '@cc/protocol';
import { MemberStateRow, QueueLiveRow, StatsRepository } from './stats.repository';
import { ShortLivedCache } from './short-lived-cache';
import { estimateWait, secondsPerPlace } from './wait-estimate';

/**
 * The estimate's basis (assignments over 15 minutes, members logged in) moves slowly, while a
 * burst of starts or a long line's position pushes ask for it hundreds of times a second: one
 * read per queue serves the next quarter second. This instance's assignments and status changes
 * drop it at once; another instance's are seen within the quarter second.
 */
const WAIT_BASIS_TTL_MS = 250;

type AgentCounts = QueueStatsView['agents'];

const KEY_OF_STATE: Record<AgentState, keyof AgentCounts> = { offline: 'offline', available: 'available', busy: 'busy', paused: 'paused', 'wrap-up': 'wrapUp' };

/** Live queue and agent statistics, and the wait estimate shown to waiting customers. */
@Injectable()
export class StatsService {
  private readonly perPlaceCache = new ShortLivedCache<number, number | null>(WAIT_BASIS_TTL_MS);

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: StatsRepository,
  ) {}

  /**
   * `estimatedWaitSeconds` of a queue is the estimate for a conversation that would join its line
   * now (position waiting + 1); `longestWaitSeconds` is 0 when nobody waits.
   */
  async queues(): Promise<QueueStatsView[]> {
    const [rows, states] = await Promise.all([this.repo.queues(this.dataSource.manager), this.repo.memberStates(this.dataSource.manager)]);
    const counts = countsByQueue(states);
    return rows.map((r) => {
      const agents = counts.get(r.id) ?? emptyCounts();
      const perPlace = secondsPerPlace({ assignedInWindow: r.assigned_in_window, loggedInMembers: loggedIn(agents) });
      return {
        queueId: r.id,
        name: r.name,
        waiting: r.waiting,
        offered: r.offered,
        active: r.active,
        oldestWaitingSince: r.oldest_waiting_since ? new Date(r.oldest_waiting_since).toISOString() : null,
        longestWaitSeconds: r.oldest_waiting_since ? Math.max(0, Math.floor((new Date(r.now).getTime() - new Date(r.oldest_waiting_since).getTime()) / 1000)) : 0,
        estimatedWaitSeconds: estimateWait(r.waiting + 1, perPlace),
        agents,
      };
    });
  }

  async agents(): Promise<AgentStatsView[]> {
    const rows = await withTransaction(this.dataSource, async (manager) => {
      await this.repo.withoutJit(manager);
      return this.repo.agents(manager);
    });
    return rows.map((r) => ({
      agentId: r.id,
      name: r.name,
      state: r.state,
      // The last recorded transition; an agent never recorded has been offline since it was created.
      stateSince: new Date(r.last_at ?? r.created_at).toISOString(),
      activeConversations: r.active,
      activeByChannel: r.active_by_channel,
    }));
  }

  /** Seconds the line of each queue takes to move one place (null: no basis), for the estimates pushed with positions. */
  async secondsPerPlace(queueIds: number[]): Promise<Map<number, number | null>> {
    if (!queueIds.length) return new Map();
    return this.perPlaceCache.getMany(queueIds, (ids) => this.readSecondsPerPlace(ids), null);
  }

  @OnEvent('conversation.assigned')
  forgetQueueBasis({ conversation }: DomainEventMap['conversation.assigned']): void {
    this.perPlaceCache.forget(conversation.queueId);
  }

  @OnEvent('agent.status.changed')
  forgetEveryBasis(): void {
    this.perPlaceCache.forget();
  }

  private async readSecondsPerPlace(ids: number[]): Promise<Map<number, number | null>> {
    const [rows, states] = await Promise.all([this.repo.queues(this.dataSource.manager, ids), this.repo.memberStates(this.dataSource.manager, ids)]);
    const counts = countsByQueue(states);
    return new Map(rows.map((r: QueueLiveRow) => [r.id, secondsPerPlace({ assignedInWindow: r.assigned_in_window, loggedInMembers: loggedIn(counts.get(r.id) ?? emptyCounts()) })]));
  }
}

function emptyCounts(): AgentCounts {
  return { offline: 0, available: 0, busy: 0, paused: 0, wrapUp: 0 };
}

function loggedIn(c: AgentCounts): number {
  return c.available + c.busy + c.paused + c.wrapUp;
}

function countsByQueue(states: MemberStateRow[]): Map<number, AgentCounts> {
  const out = new Map<number, AgentCounts>();
  for (const s of states) {
    const c = out.get(s.queue_id) ?? emptyCounts();
    c[KEY_OF_STATE[s.state]] += s.n;
    out.set(s.queue_id, c);
  }
  return out;
}

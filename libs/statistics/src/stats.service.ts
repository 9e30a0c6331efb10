import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AgentState } from '@cc/common';
import { withTransaction } from '@cc/database';
import type { AgentStatsView, QueueStatsView } from '@cc/protocol';

export type { AgentStatsView, QueueStatsView } from '@cc/protocol';
import { MemberStateRow, QueueLiveRow, StatsRepository } from './stats.repository';
import { estimateWait, secondsPerPlace } from './wait-estimate';

type AgentCounts = QueueStatsView['agents'];

const KEY_OF_STATE: Record<AgentState, keyof AgentCounts> = { offline: 'offline', available: 'available', busy: 'busy', paused: 'paused', 'wrap-up': 'wrapUp' };

/** Live queue and agent statistics, and the wait estimate shown to waiting customers. */
@Injectable()
export class StatsService {
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
    const ids = [...new Set(queueIds)];
    if (!ids.length) return new Map();
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

import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConflictError, DomainEvents, Errors, paginated, Paginated, PaginationQuery } from '@cc/common';
import { isForeignKeyViolation, isUniqueViolation, toIso } from '@cc/database';
import { AddMemberDto, CreateQueueDto, UpdateQueueDto } from './queue.dto';
import type { QueueView } from '@cc/protocol';
import { DEFAULT_QUEUE, QueueRow, QueuesRepository } from './queues.repository';

export type { QueueView } from '@cc/protocol';

@Injectable()
export class QueuesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: QueuesRepository,
    private readonly events: DomainEvents,
  ) {}

  async create(dto: CreateQueueDto): Promise<QueueView> {
    try {
      const id = await this.repo.insert(this.dataSource.manager, dto);
      return this.get(id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('QueueNameTaken', 'A queue with that name exists');
      throw err;
    }
  }

  async list(query: PaginationQuery): Promise<Paginated<QueueView>> {
    const { rows, total } = await this.repo.page(this.dataSource.manager, query.limit, (query.page - 1) * query.limit);
    return paginated(await this.views(rows), query.page, query.limit, total);
  }

  async get(id: number): Promise<QueueView> {
    const queue = await this.find(id);
    return (await this.views([queue]))[0];
  }

  async find(id: number, manager: EntityManager = this.dataSource.manager): Promise<QueueRow> {
    const queue = await this.repo.find(manager, id);
    if (!queue) throw Errors.noSuchQueue();
    return queue;
  }

  async update(id: number, dto: UpdateQueueDto): Promise<QueueView> {
    const queue = await this.find(id);
    if (queue.name === DEFAULT_QUEUE && dto.name !== undefined && dto.name !== DEFAULT_QUEUE) {
      throw new ConflictError('DefaultQueue', 'The default queue cannot be renamed');
    }
    try {
      await this.repo.update(this.dataSource.manager, id, dto);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('QueueNameTaken', 'A queue with that name exists');
      throw err;
    }
    // A new strategy or overflow rule may let waiting conversations through.
    if (dto.overflow !== undefined || dto.strategy !== undefined || dto.offerTimeoutSeconds !== undefined) {
      for (const agentId of await this.repo.memberIds(this.dataSource.manager, id)) this.events.publish('agent.capacity.changed', { agentId, reason: 'queue-changed' });
    }
    return this.get(id);
  }

  async remove(id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const queue = await this.repo.find(manager, id, true);
      if (!queue) throw Errors.noSuchQueue();
      if (queue.name === DEFAULT_QUEUE) throw new ConflictError('DefaultQueue', 'The default queue cannot be deleted');
      if ((await this.repo.countWaiting(manager, id)) > 0) throw new ConflictError('QueueNotEmpty', 'Conversations are waiting in this queue');
      await this.repo.delete(manager, id);
    });
  }

  async addMember(queueId: number, dto: AddMemberDto): Promise<void> {
    await this.find(queueId);
    try {
      await this.repo.addMember(this.dataSource.manager, queueId, dto.agentId);
    } catch (err) {
      if (isUniqueViolation(err)) throw Errors.agentAlreadyInQueue();
      if (isForeignKeyViolation(err)) throw (await this.repo.find(this.dataSource.manager, queueId)) ? Errors.noSuchAgent() : Errors.noSuchQueue();
      throw err;
    }
    this.events.publish('agent.capacity.changed', { agentId: dto.agentId, reason: 'queue-joined' });
  }

  async removeMember(queueId: number, agentId: number): Promise<void> {
    await this.find(queueId);
    if (!(await this.repo.agentExists(this.dataSource.manager, agentId))) throw Errors.noSuchAgent();
    if (!(await this.repo.removeMember(this.dataSource.manager, queueId, agentId))) throw Errors.agentNotInQueue();
  }

  /**
   * For agent administration, inside its transaction: makes the agent's membership exactly
   * `queueIds` (404 for an unknown queue, nothing changed); answers whether it changed.
   */
  async replaceMembership(manager: EntityManager, agentId: number, queueIds: number[]): Promise<boolean> {
    const ids = [...new Set(queueIds)];
    if (ids.length && (await this.repo.lockExisting(manager, ids)).length !== ids.length) throw Errors.noSuchQueue();
    return this.repo.replaceMembership(manager, agentId, ids);
  }

  /** The ids of the `default` queue (what a new agent joins when no queues are given). */
  defaultQueueIds(manager: EntityManager): Promise<number[]> {
    return this.repo.idsNamed(manager, DEFAULT_QUEUE);
  }

  /** The queue a new conversation goes to: the named one, else the one taking its channel, else `default`. */
  async route(channel: string, queueId: number | undefined, manager: EntityManager = this.dataSource.manager): Promise<QueueRow> {
    if (queueId !== undefined) return this.find(queueId, manager);
    const id = await this.repo.routeId(manager, channel);
    const queue = id === null ? null : await this.repo.find(manager, id);
    if (!queue) throw Errors.noSuchQueue();
    return queue;
  }

  private async views(queues: QueueRow[]): Promise<QueueView[]> {
    if (!queues.length) return [];
    const ids = queues.map((q) => q.id);
    const members = await this.repo.membersOf(this.dataSource.manager, ids);
    const waiting = await this.repo.waiting(this.dataSource.manager, ids);
    return queues.map((q) => {
      const w = waiting.get(q.id);
      return {
        id: q.id,
        name: q.name,
        strategy: q.strategy,
        overflow: q.overflow,
        channels: q.channels,
        priority: q.priority,
        webhookUrl: q.webhook_url,
        webhookTimeoutMs: q.webhook_timeout_ms,
        offerTimeoutSeconds: q.offer_timeout_seconds,
        pauseOnMissedOffer: q.pause_on_missed_offer,
        slaSeconds: q.sla_seconds,
        memberIds: members.get(q.id) ?? [],
        waiting: { count: w ? w.count : 0, oldestSince: toIso(w?.oldest) },
      };
    });
  }
}

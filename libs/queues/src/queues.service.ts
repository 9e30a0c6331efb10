import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { ConflictError, DomainEvents, Errors, paginated, Paginated, PaginationQuery } from '@cc/common';
import { isForeignKeyViolation, isUniqueViolation, toIso } from '@cc/database';
import { AddMemberDto, CreateQueueDto, UpdateQueueDto } from './queue.dto';
import type { QueueView } from '@cc/protocol';
import { Queue, QueueOverflow, QueueStrategy } from './queue.entity';

export const DEFAULT_QUEUE = 'default';

/**
 * SQL choosing the queue of a new conversation: the one named by `queueIdParam` when it is not
 * NULL, else the highest-priority queue whose `channels` list the channel, else `default`.
 */
export function routeQueueSql(channelParam: string, queueIdParam: string): string {
  return `
  SELECT id, webhook_url FROM queues
  WHERE CASE WHEN ${queueIdParam}::int IS NULL THEN ${channelParam}::text = ANY(channels) OR name = '${DEFAULT_QUEUE}' ELSE id = ${queueIdParam}::int END
  ORDER BY (name = '${DEFAULT_QUEUE}' AND NOT (${channelParam}::text = ANY(channels))), priority DESC, id
  LIMIT 1`;
}

export type { QueueView } from '@cc/protocol';

@Injectable()
export class QueuesService {
  constructor(
    @InjectRepository(Queue) private readonly queues: Repository<Queue>,
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
  ) {}

  async create(dto: CreateQueueDto): Promise<QueueView> {
    try {
      const queue = await this.queues.save(this.queues.create({ ...dto, lastAssignedAgentId: null }));
      return this.get(queue.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('QueueNameTaken', 'A queue with that name exists');
      throw err;
    }
  }

  async list(query: PaginationQuery): Promise<Paginated<QueueView>> {
    const [rows, total] = await this.queues.findAndCount({ order: { id: 'ASC' }, skip: (query.page - 1) * query.limit, take: query.limit });
    return paginated(await this.views(rows), query.page, query.limit, total);
  }

  async get(id: number): Promise<QueueView> {
    const queue = await this.find(id);
    return (await this.views([queue]))[0];
  }

  async find(id: number, manager: EntityManager = this.dataSource.manager): Promise<Queue> {
    const queue = await manager.findOneBy(Queue, { id });
    if (!queue) throw Errors.noSuchQueue();
    return queue;
  }

  async update(id: number, dto: UpdateQueueDto): Promise<QueueView> {
    const queue = await this.find(id);
    if (queue.name === DEFAULT_QUEUE && dto.name !== undefined && dto.name !== DEFAULT_QUEUE) {
      throw new ConflictError('DefaultQueue', 'The default queue cannot be renamed');
    }
    try {
      await this.queues.update(id, dto);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('QueueNameTaken', 'A queue with that name exists');
      throw err;
    }
    // A new strategy or overflow rule may let waiting conversations through.
    if (dto.overflow !== undefined || dto.strategy !== undefined) {
      for (const agentId of await this.memberIds(id)) this.events.publish('agent.capacity.changed', { agentId, reason: 'queue-changed' });
    }
    return this.get(id);
  }

  async remove(id: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const queue = await manager.getRepository(Queue).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!queue) throw Errors.noSuchQueue();
      if (queue.name === DEFAULT_QUEUE) throw new ConflictError('DefaultQueue', 'The default queue cannot be deleted');
      const waiting: { n: string }[] = await manager.query(`SELECT count(*) AS n FROM conversations WHERE queue_id = $1 AND status = 'queued'`, [id]);
      if (Number(waiting[0].n) > 0) throw new ConflictError('QueueNotEmpty', 'Conversations are waiting in this queue');
      await manager.delete(Queue, { id });
    });
  }

  async addMember(queueId: number, dto: AddMemberDto): Promise<void> {
    await this.find(queueId);
    try {
      await this.dataSource.query(`INSERT INTO queue_members (queue_id, agent_id) VALUES ($1, $2)`, [queueId, dto.agentId]);
    } catch (err) {
      if (isUniqueViolation(err)) throw Errors.agentAlreadyInQueue();
      if (isForeignKeyViolation(err)) {
        const queues: unknown[] = await this.dataSource.query(`SELECT 1 FROM queues WHERE id = $1`, [queueId]);
        throw queues.length ? Errors.noSuchAgent() : Errors.noSuchQueue();
      }
      throw err;
    }
    this.events.publish('agent.capacity.changed', { agentId: dto.agentId, reason: 'queue-joined' });
  }

  async removeMember(queueId: number, agentId: number): Promise<void> {
    await this.find(queueId);
    const agents: unknown[] = await this.dataSource.query(`SELECT 1 FROM agents WHERE id = $1`, [agentId]);
    if (!agents.length) throw Errors.noSuchAgent();
    const [, removed] = await this.dataSource.query(`DELETE FROM queue_members WHERE queue_id = $1 AND agent_id = $2`, [queueId, agentId]);
    if (!removed) throw Errors.agentNotInQueue();
  }

  /** The queue a new conversation goes to: the named one, else the one taking its channel, else `default`. */
  async route(channel: string, queueId: number | undefined, manager: EntityManager = this.dataSource.manager): Promise<Queue> {
    if (queueId !== undefined) return this.find(queueId, manager);
    const [row]: { id: number }[] = await manager.query(routeQueueSql('$1', '$2'), [channel, null]);
    const queue = row ? await manager.findOneBy(Queue, { id: row.id }) : null;
    if (!queue) throw Errors.noSuchQueue();
    return queue;
  }

  private async memberIds(queueId: number): Promise<number[]> {
    const rows: { agent_id: number }[] = await this.dataSource.query(`SELECT agent_id FROM queue_members WHERE queue_id = $1`, [queueId]);
    return rows.map((r) => r.agent_id);
  }

  private async views(queues: Queue[]): Promise<QueueView[]> {
    if (!queues.length) return [];
    const ids = queues.map((q) => q.id);
    const members: { queue_id: number; ids: number[] }[] = await this.dataSource.query(
      `SELECT queue_id, array_agg(agent_id ORDER BY agent_id) AS ids FROM queue_members WHERE queue_id = ANY($1) GROUP BY queue_id`,
      [ids],
    );
    const waiting: { queue_id: number; n: string; oldest: Date }[] = await this.dataSource.query(
      `SELECT queue_id, count(*) AS n, min(waiting_since) AS oldest FROM conversations
       WHERE status = 'queued' AND queue_id = ANY($1) GROUP BY queue_id`,
      [ids],
    );
    return queues.map((q) => {
      const w = waiting.find((r) => r.queue_id === q.id);
      return {
        id: q.id,
        name: q.name,
        strategy: q.strategy,
        overflow: q.overflow,
        channels: q.channels,
        priority: q.priority,
        webhookUrl: q.webhookUrl,
        webhookTimeoutMs: q.webhookTimeoutMs,
        memberIds: members.find((m) => m.queue_id === q.id)?.ids ?? [],
        waiting: { count: w ? Number(w.n) : 0, oldestSince: toIso(w?.oldest) },
      };
    });
  }
}

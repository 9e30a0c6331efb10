import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { actorOf, ConflictError, ConversationView, DomainEvents, Errors, ForbiddenError, InvalidError, MessageView, paginated, Paginated, Principal } from '@cc/common';
import { afterCommit, conversationJsonSql, customerJsonSql, isUniqueViolation, messageJsonSql, outboxInsertSql, recordEvent, returnedRows, toInt, toIso, withTransaction } from '@cc/database';
import { AllocationService, ConversationRow, toConversationView } from '@cc/allocation';
import { PresenceService } from '@cc/presence';
import { QueuesService, routeQueueSql } from '@cc/queues';
import { assertCanSee } from './conversation-access';
import { AssignConversationDto, ListConversationsQuery, ResolveConversationDto, StartConversationDto, TransferConversationDto } from './conversation.dto';

const START_SQL = `
  WITH queue AS (${routeQueueSql('$3', '$4')}),
  conv AS (
    INSERT INTO conversations (customer_id, queue_id, channel, status) SELECT $1, queue.id, $3, 'queued' FROM queue RETURNING *
  ), first AS (
    INSERT INTO messages (conversation_id, sender_type, sender_id, text) SELECT conv.id, 'customer', $1, $2 FROM conv WHERE $2::text IS NOT NULL RETURNING *
  ), events AS (
    SELECT 0 AS ord, 'conversation.created'::text AS type, conv.id AS conversation_id, conv.channel, $5::jsonb AS actor,
      jsonb_build_object('conversation', ${conversationJsonSql('conv')}) AS data
    FROM conv
    UNION ALL
    SELECT 1, 'message.created', conv.id, conv.channel, $5::jsonb,
      jsonb_build_object('message', ${messageJsonSql('first')}, 'conversation', ${conversationJsonSql('conv')}, 'customer', ${customerJsonSql('conv')})
    FROM first CROSS JOIN conv
  ), ${outboxInsertSql('events')}
  SELECT conv.*, queue.webhook_url, first.id AS message_id, first.created_at AS message_created_at FROM conv CROSS JOIN queue LEFT JOIN first ON true`;

type StartedRow = ConversationRow & { webhook_url: string | null; message_id: string | null; message_created_at: Date | null };

/** The conversation lifecycle: start, read, resolve, transfer, manual assignment. */
@Injectable()
export class ConversationsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly allocation: AllocationService,
    private readonly queues: QueuesService,
    private readonly presence: PresenceService,
    private readonly events: DomainEvents,
  ) {}

  /** Creates the customer's conversation and allocates it before answering (or queues it). */
  async start(user: Principal, dto: StartConversationDto): Promise<ConversationView> {
    if (user.role !== 'customer') throw new ForbiddenError('Only customers start conversations');
    const channel = dto.channel ?? 'web';
    // One statement routes, stores the conversation and its first text, durably; allocation
    // follows in a transaction of its own.
    let stored: StartedRow | undefined;
    try {
      [stored] = await this.dataSource.query(START_SQL, [user.id, dto.text ?? null, channel, dto.queueId ?? null, JSON.stringify(actorOf(user))]);
    } catch (err) {
      if (isUniqueViolation(err, 'conversations_one_open_per_customer')) throw await this.alreadyOpen(user.id);
      throw err;
    }
    if (!stored) throw Errors.noSuchQueue();
    const { webhook_url, message_id, message_created_at, ...created } = stored;
    const first: MessageView | null =
      message_id === null
        ? null
        : { id: toInt(message_id), conversationId: created.id, senderType: 'customer', senderId: user.id, text: dto.text!, clientMessageId: null, createdAt: toIso(message_created_at)! };
    const viaWebhook = webhook_url !== null;
    const row = await this.allocation.allocateNew(created, viaWebhook, 'conversation-started');
    // After the assignment, so the agent that took the conversation receives its first text.
    if (first) this.events.publish('message.created', { message: first, customerId: user.id, agentId: row.agent_id });
    return this.view(row);
  }

  async list(user: Principal, query: ListConversationsQuery): Promise<Paginated<ConversationView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (user.role === 'customer') add('customer_id = ?', user.id);
    if (user.role === 'agent') {
      if (query.agentId !== undefined && query.agentId !== user.id) throw new ForbiddenError('Agents see only their own conversations');
      add('agent_id = ?', user.id);
    } else if (query.agentId !== undefined) add('agent_id = ?', query.agentId);
    if (query.status) add('status = ?', query.status);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [rows, count] = await Promise.all([
      this.dataSource.query(`SELECT * FROM conversations ${filter} ORDER BY id DESC LIMIT ${query.limit} OFFSET ${(query.page - 1) * query.limit}`, params),
      this.dataSource.query(`SELECT count(*)::int AS n FROM conversations ${filter}`, params),
    ]);
    return paginated(await this.views(rows), query.page, query.limit, count[0].n);
  }

  async get(user: Principal, id: number): Promise<ConversationView> {
    const row = await this.find(this.dataSource.manager, id);
    assertCanSee(user, row);
    return this.view(row);
  }

  /** Its queued and active conversations: what a (re)connecting client needs to be whole again. */
  async openFor(user: Principal): Promise<ConversationView[]> {
    if (user.role === 'admin') return [];
    const column = user.role === 'agent' ? 'agent_id' : 'customer_id';
    const rows = await this.dataSource.query(`SELECT * FROM conversations WHERE ${column} = $1 AND status IN ('queued', 'active') ORDER BY id`, [user.id]);
    return this.views(rows);
  }

  /** By its agent, its customer or an admin; its agent then enters wrap-up. */
  async resolve(user: Principal, id: number, dto: ResolveConversationDto): Promise<ConversationView> {
    const row = await withTransaction(this.dataSource, async (manager) => {
      const current = await this.find(manager, id, true);
      assertCanSee(user, current);
      if (current.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation already resolved');
      const resolved = returnedRows<ConversationRow>(
        await manager.query(
          `UPDATE conversations SET status = 'resolved', resolved_at = now(), resolved_by = $2, notes = coalesce($3, notes) WHERE id = $1 RETURNING *`,
          [id, user.role, dto.notes ?? null],
        ),
      )[0];
      const wrapUp = user.role === 'agent' && current.agent_id === user.id ? await this.presence.startWrapUp(manager, user.id, undefined, actorOf(user)) : null;
      await recordEvent(manager, { type: 'conversation.resolved', conversationId: id, channel: resolved.channel, actor: actorOf(user), data: { conversation: toConversationView(resolved) } });
      afterCommit(manager, () => {
        this.events.publish('conversation.resolved', { conversation: toConversationView(resolved) });
        if (wrapUp) this.events.publish('agent.status.changed', { agentId: user.id, status: wrapUp, reason: 'wrap-up' });
        if (current.status === 'queued') this.events.publish('queue.positions.changed', { queueIds: [current.queue_id] });
      });
      return resolved;
    });
    return this.view(row);
  }

  /** To another agent (a manual decision: allowed beyond capacity) or into a queue's waiting line. */
  async transfer(user: Principal, id: number, dto: TransferConversationDto): Promise<ConversationView> {
    if ((dto.agentId === undefined) === (dto.queueId === undefined)) throw new InvalidError('Give exactly one of agentId or queueId');
    let viaWebhook = false;
    let row = await withTransaction(this.dataSource, async (manager) => {
      const current = await this.find(manager, id, true);
      if (!(user.role === 'admin' || (user.role === 'agent' && current.agent_id === user.id))) throw new ForbiddenError('Only its agent or an admin may transfer a conversation');
      if (current.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation already resolved');
      let moved: ConversationRow;
      if (dto.agentId !== undefined) {
        if (current.agent_id === dto.agentId) throw new ConflictError('SameAgent', 'Conversation is already with this agent');
        moved = await this.allocation.assignTo(manager, current, dto.agentId, 'transfer', 'transfer', actorOf(user));
      } else {
        const queue = await this.queues.find(dto.queueId!, manager);
        const requeued = returnedRows<ConversationRow>(
          await manager.query(
            `UPDATE conversations SET queue_id = $2, status = 'queued', agent_id = NULL, assigned_at = NULL, waiting_since = NULL WHERE id = $1 RETURNING *`,
            [id, queue.id],
          ),
        )[0];
        viaWebhook = !!queue.webhookUrl;
        moved = viaWebhook ? requeued : await this.allocation.allocateInTransaction(manager, requeued, 'transfer', actorOf(user));
      }
      await recordEvent(manager, {
        type: 'conversation.transferred',
        conversationId: id,
        channel: moved.channel,
        actor: actorOf(user),
        data: { conversation: toConversationView(moved), fromAgentId: current.agent_id, toAgentId: moved.agent_id },
      });
      afterCommit(manager, () => {
        this.events.publish('conversation.transferred', { conversation: toConversationView(moved), fromAgentId: current.agent_id, toAgentId: moved.agent_id });
        if (current.status === 'queued' || moved.status === 'queued') this.events.publish('queue.positions.changed', { queueIds: [current.queue_id, moved.queue_id] });
      });
      return moved;
    });
    if (viaWebhook) row = (await this.allocation.allocateWaiting(row.id, 'transfer')) ?? row;
    return this.view(row);
  }

  /** Admin assigns to an agent directly, capacity notwithstanding. */
  async assign(user: Principal, id: number, dto: AssignConversationDto): Promise<ConversationView> {
    const row = await withTransaction(this.dataSource, async (manager) => {
      const current = await this.find(manager, id, true);
      if (current.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation already resolved');
      if (current.agent_id === dto.agentId) return current;
      return this.allocation.assignTo(manager, current, dto.agentId, 'manual', 'manual', actorOf(user));
    });
    return this.view(row);
  }

  private async alreadyOpen(customerId: number): Promise<ConflictError> {
    const open: { id: number }[] = await this.dataSource.query(`SELECT id FROM conversations WHERE customer_id = $1 AND status IN ('queued', 'active')`, [customerId]);
    return new ConflictError('ConversationOpen', 'Customer already has an open conversation', { conversationId: open[0]?.id ?? null });
  }

  private async find(manager: EntityManager, id: number, forUpdate = false): Promise<ConversationRow> {
    const rows: ConversationRow[] = await manager.query(`SELECT * FROM conversations WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    if (!rows.length) throw Errors.noSuchConversation();
    return rows[0];
  }

  private async view(row: ConversationRow): Promise<ConversationView> {
    return (await this.views([row]))[0];
  }

  private async views(rows: ConversationRow[]): Promise<ConversationView[]> {
    const unknown = rows.filter((r) => r.status === 'queued' && r.position === undefined).map((r) => r.id);
    const positions = await this.allocation.positions(unknown);
    return rows.map((r) => toConversationView(r, r.position ?? positions.get(r.id)));
  }
}

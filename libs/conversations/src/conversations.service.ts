import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Access, actorOf, ConflictError, conversationSeenBy, ConversationView, DomainEvents, Errors, ForbiddenError, paginated, Paginated, Principal, TransactionHooks } from '@cc/common';
import { afterCommit, recordEvent, withTransaction } from '@cc/database';
import { PresenceService } from '@cc/presence';
import { estimateWait, StatsService } from '@cc/statistics';
import { ListConversationsQuery, ResolveConversationDto } from './conversation.dto';
import { ConversationRow, ConversationsRepository, toConversationView } from './conversations.repository';

/**
 * Reading and resolving conversations. Commands that end in an allocation decision (start,
 * transfer, assign) are in @cc/allocation (RoutingService), which builds on this library.
 */
@Injectable()
export class ConversationsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: ConversationsRepository,
    private readonly presence: PresenceService,
    private readonly events: DomainEvents,
    private readonly stats: StatsService,
    private readonly hooks: TransactionHooks,
  ) {}

  async list(user: Principal, query: ListConversationsQuery): Promise<Paginated<ConversationView>> {
    const filter = { ...Access.conversationScope(user, query.agentId), status: query.status, offersHidden: user.role === 'customer' };
    const { rows, total } = await this.repo.list(this.dataSource.manager, filter, query.page, query.limit);
    return paginated(await this.views(rows, user), query.page, query.limit, total);
  }

  async get(user: Principal, id: number): Promise<ConversationView> {
    const row = await this.find(this.dataSource.manager, id);
    Access.requireReadConversation(user, row);
    return this.view(row, user);
  }

  /** Its queued and active conversations: what a (re)connecting client needs to be whole again. */
  async openFor(user: Principal): Promise<ConversationView[]> {
    if (user.role === 'admin') return [];
    return this.views(await this.repo.openOf(this.dataSource.manager, user.role, user.id), user);
  }

  /** By its agent, its customer or an admin; its agent then enters wrap-up. */
  async resolve(user: Principal, id: number, dto: ResolveConversationDto): Promise<ConversationView> {
    const row = await withTransaction(this.dataSource, async (manager) => {
      const current = await this.find(manager, id, true);
      Access.requireReadConversation(user, current);
      if (current.status === 'resolved') throw new ConflictError('ConversationResolved', 'Conversation already resolved');
      Access.requireNotOfferedTo(user, current);
      // Resolving an offer ends it: the conversation never had an agent (the offered one hears it end).
      const offeredAgentId = current.status === 'offered' && current.agent_id !== null ? current.agent_id : undefined;
      if (offeredAgentId !== undefined) await this.hooks.run('offer.withdrawn', manager, { conversationId: id, agentId: offeredAgentId, by: user.role === 'customer' ? 'customer' : 'admin' });
      const resolved = await this.repo.resolve(manager, id, user.role, dto.notes ?? null);
      const wrapUp = user.role === 'agent' && current.agent_id === user.id ? await this.presence.startWrapUp(manager, user.id, undefined, actorOf(user)) : null;
      await recordEvent(manager, { type: 'conversation.resolved', conversationId: id, channel: resolved.channel, actor: actorOf(user), data: { conversation: toConversationView(resolved) } });
      // A freed slot may end `busy`: the state history records it in this transaction (under the presence row lock startWrapUp holds, when it ran).
      if (current.agent_id !== null && (current.status === 'active' || current.status === 'offered')) await this.presence.recordDerivedStates(manager, [current.agent_id], 'resolved', wrapUp !== null);
      afterCommit(manager, () => {
        this.events.publish('conversation.resolved', { conversation: toConversationView(resolved), offeredAgentId });
        if (wrapUp) this.events.publish('agent.status.changed', { agentId: user.id, status: wrapUp, reason: 'wrap-up' });
        if (current.status === 'queued' || current.status === 'offered') this.events.publish('queue.positions.changed', { queueIds: [current.queue_id] });
      });
      return resolved;
    });
    return this.view(row, user);
  }

  /** The customer's open conversation, row-locked (so it cannot end before the caller commits), or null. */
  async lockOpenOf(manager: EntityManager, customerId: number): Promise<ConversationRow | null> {
    const id = await this.repo.openIdOf(manager, customerId);
    if (id === null) return null;
    const row = await this.repo.find(manager, id, true);
    // Resolved between the read and the lock: the customer has no open conversation.
    return row && row.status !== 'resolved' ? row : null;
  }

  /** The conversation (row-locked when `forUpdate`); 404 when unknown. */
  async find(manager: EntityManager, id: number, forUpdate = false): Promise<ConversationRow> {
    const row = await this.repo.find(manager, id, forUpdate);
    if (!row) throw Errors.noSuchConversation();
    return row;
  }

  async view(row: ConversationRow, viewer?: Principal): Promise<ConversationView> {
    return (await this.views([row], viewer))[0];
  }

  /**
   * Wire views, with the waiting position of queued ones (read when the row does not carry it) and
   * its wait estimate; as `viewer` sees them (a customer sees an offered conversation as queued,
   * with the place it keeps in the line).
   */
  async views(rows: ConversationRow[], viewer?: Principal): Promise<ConversationView[]> {
    const waiting = (r: ConversationRow) => r.status === 'queued' || (r.status === 'offered' && viewer?.role === 'customer');
    const unknown = rows.filter((r) => waiting(r) && r.position === undefined).map((r) => r.id);
    const positions = await this.repo.positions(this.dataSource.manager, unknown);
    const perPlace = await this.stats.secondsPerPlace(rows.filter(waiting).map((r) => r.queue_id));
    return rows.map((r) => {
      const position = r.position ?? positions.get(r.id);
      const estimatedWaitSeconds = waiting(r) ? estimateWait(position, perPlace.get(r.queue_id) ?? null) : undefined;
      const view = toConversationView(r, position, estimatedWaitSeconds);
      return viewer ? conversationSeenBy(viewer, view, { position, estimatedWaitSeconds }) : view;
    });
  }
}

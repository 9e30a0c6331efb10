import { Errors, ForbiddenError } from './errors';
import { Principal } from './views';

/** Who takes part in a conversation, as its row names them. */
export interface ConversationParties {
  customer_id: number;
  agent_id: number | null;
}

/**
 * Who may see or do what: every service asks here rather than re-deriving a rule inline
 * (immich's requireAccess, outline's can(user, action, thing)). `can*` answer, `require*` throw
 * the 403 of the contract.
 */
export const Access = {
  /** Participants (its customer, its current agent) and admins may read a conversation, its messages, and write into it. */
  canReadConversation(user: Principal, c: ConversationParties): boolean {
    return user.role === 'admin' || (user.role === 'customer' && c.customer_id === user.id) || (user.role === 'agent' && c.agent_id === user.id);
  },

  requireReadConversation(user: Principal, c: ConversationParties): void {
    if (!Access.canReadConversation(user, c)) throw new ForbiddenError('Not a participant of this conversation');
  },

  /** Its current agent and admins may steer a conversation: transfer it, read its allocation decisions. */
  canSteerConversation(user: Principal, c: ConversationParties): boolean {
    return user.role === 'admin' || (user.role === 'agent' && c.agent_id === user.id);
  },

  requireSteerConversation(user: Principal, c: ConversationParties, message?: string): void {
    if (!Access.canSteerConversation(user, c)) throw new ForbiddenError(message);
  },

  /**
   * An offered conversation waits for its agent's answer: that agent may accept or decline it
   * (and read it), nothing else until it accepts (409). Admins and the customer act as while it waited.
   */
  requireNotOfferedTo(user: Principal, c: ConversationParties & { status: string }): void {
    if (user.role === 'agent' && c.status === 'offered' && c.agent_id === user.id) throw Errors.offerNotAccepted();
  },

  /** Only customers start conversations. */
  requireCustomer(user: Principal, message?: string): void {
    if (user.role !== 'customer') throw new ForbiddenError(message);
  },

  /**
   * Which agent's conversations a caller may list: an agent only its own (asking for another's is
   * a 403), a customer only its own (answered as `customerId`), an admin anyone's.
   */
  conversationScope(user: Principal, agentId: number | undefined): { customerId?: number; agentId?: number } {
    if (user.role === 'customer') return { customerId: user.id, agentId };
    if (user.role === 'agent') {
      if (agentId !== undefined && agentId !== user.id) throw new ForbiddenError('Agents see only their own conversations');
      return { agentId: user.id };
    }
    return { agentId };
  },

  /** An admin may act on any agent, an agent on itself only (by id or by its number: `agentId` null for an unknown number). */
  requireAdminOrSelf(caller: Principal, agentId: number | null): void {
    if (caller.role === 'admin') return;
    if (caller.role !== 'agent' || agentId !== caller.id) throw new ForbiddenError();
  },

  /** Only an admin may create sessions for other customers. */
  requireAdminIfAuthenticated(caller: Principal | undefined, message?: string): void {
    if (caller && caller.role !== 'admin') throw new ForbiddenError(message);
  },
};

import { ForbiddenError, Principal } from '@cc/common';

export interface ConversationParties {
  customer_id: number;
  agent_id: number | null;
}

/** Participants (its customer, its current agent) and admins may see a conversation. */
export function canSee(user: Principal, c: ConversationParties): boolean {
  return user.role === 'admin' || (user.role === 'customer' && c.customer_id === user.id) || (user.role === 'agent' && c.agent_id === user.id);
}

export function assertCanSee(user: Principal, c: ConversationParties): void {
  if (!canSee(user, c)) throw new ForbiddenError('Not a participant of this conversation');
}

import { Access } from './access-policy';
import { ForbiddenError } from './errors';

const conversation = { customer_id: 7, agent_id: 3 };

describe('Access', () => {
  it('lets admins, the customer and the current agent read a conversation, nobody else', () => {
    expect(Access.canReadConversation({ role: 'admin', id: 1 }, conversation)).toBe(true);
    expect(Access.canReadConversation({ role: 'customer', id: 7 }, conversation)).toBe(true);
    expect(Access.canReadConversation({ role: 'agent', id: 3 }, conversation)).toBe(true);
    expect(Access.canReadConversation({ role: 'customer', id: 3 }, conversation)).toBe(false);
    expect(Access.canReadConversation({ role: 'agent', id: 7 }, conversation)).toBe(false);
    expect(Access.canReadConversation({ role: 'agent', id: 3 }, { customer_id: 7, agent_id: null })).toBe(false);
    expect(() => Access.requireReadConversation({ role: 'agent', id: 4 }, conversation)).toThrow(ForbiddenError);
  });

  it('lets only admins and the current agent steer a conversation', () => {
    expect(Access.canSteerConversation({ role: 'admin', id: 1 }, conversation)).toBe(true);
    expect(Access.canSteerConversation({ role: 'agent', id: 3 }, conversation)).toBe(true);
    expect(Access.canSteerConversation({ role: 'customer', id: 7 }, conversation)).toBe(false);
    expect(() => Access.requireSteerConversation({ role: 'agent', id: 4 }, conversation, 'no')).toThrow('no');
  });

  it('scopes conversation lists: agents to their own, customers to theirs, admins as asked', () => {
    expect(Access.conversationScope({ role: 'agent', id: 3 }, undefined)).toEqual({ agentId: 3 });
    expect(Access.conversationScope({ role: 'agent', id: 3 }, 3)).toEqual({ agentId: 3 });
    expect(() => Access.conversationScope({ role: 'agent', id: 3 }, 4)).toThrow(ForbiddenError);
    expect(Access.conversationScope({ role: 'customer', id: 7 }, undefined)).toEqual({ customerId: 7, agentId: undefined });
    expect(Access.conversationScope({ role: 'admin', id: 1 }, 4)).toEqual({ agentId: 4 });
  });

  it('lets an admin act on any agent and an agent on itself only', () => {
    expect(() => Access.requireAdminOrSelf({ role: 'admin', id: 1 }, 5)).not.toThrow();
    expect(() => Access.requireAdminOrSelf({ role: 'admin', id: 1 }, null)).not.toThrow();
    expect(() => Access.requireAdminOrSelf({ role: 'agent', id: 5 }, 5)).not.toThrow();
    expect(() => Access.requireAdminOrSelf({ role: 'agent', id: 5 }, 6)).toThrow(ForbiddenError);
    expect(() => Access.requireAdminOrSelf({ role: 'agent', id: 5 }, null)).toThrow(ForbiddenError);
    expect(() => Access.requireAdminOrSelf({ role: 'customer', id: 5 }, 5)).toThrow(ForbiddenError);
  });
});

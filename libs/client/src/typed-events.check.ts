/**
 * Compile-time checks of the SDK's types (typed-events.spec.ts compiles this file; every
 * `@ts-expect-error` must be an error, and everything else must compile). Never run.
 */
import type { ConversationView, MessageView } from '@cc/protocol';
import { AgentClient, CustomerClient } from './realtime';
import { RestClient } from './rest';

export function checks(agent: AgentClient, customer: CustomerClient, rest: RestClient): void {
  agent.on('message.new', ({ message }) => {
    const id: number = message.id;
    const text: string = message.text;
    // @ts-expect-error a message has no `body`
    void message.body;
    void id, text;
  });
  agent.on('agent.status', (status) => {
    const state: 'offline' | 'available' | 'busy' | 'paused' | 'wrap-up' = status.state;
    void state;
  });
  agent.on('conversation.assigned', ({ conversation, agent: who }) => {
    const c: ConversationView = conversation;
    const name: string = who.name;
    void c, name;
  });
  agent.on('typing', ({ typing, senderType }) => {
    const t: boolean = typing;
    // @ts-expect-error senderType is a union of strings, not a number
    const n: number = senderType;
    void t, n;
  });
  agent.on('connection', ({ state }) => {
    // @ts-expect-error no such connection state
    if (state === 'sleeping') return;
  });
  // @ts-expect-error no such server event
  agent.on('message.created', () => undefined);
  // @ts-expect-error the ready payload has no `agents`
  customer.on('ready', ({ agents }) => void agents);

  const sent: Promise<MessageView> = customer.send(1, 'hi');
  // @ts-expect-error the conversation id is a number
  void customer.send('1', 'hi');
  const started: Promise<ConversationView> = customer.start({ channel: 'web', text: 'hello' });
  // @ts-expect-error unknown payload field
  void customer.start({ chanel: 'web' });
  const synced: Promise<MessageView[]> = agent.request('messages.sync', { conversationId: 1, afterId: 0 });
  // @ts-expect-error agents cannot start conversations
  void agent.request('conversation.start', {});
  // @ts-expect-error afterId is required
  void agent.request('messages.sync', { conversationId: 1 });
  void sent, started, synced;

  void rest.login('a@example.com', 'x').then((r) => {
    const token: string = r.accessToken;
    // @ts-expect-error role is a union of the three roles
    const role: 'root' = r.user.role;
    void token, role;
  });
}

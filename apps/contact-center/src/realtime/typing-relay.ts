import { Injectable } from '@nestjs/common';
import { Access, ConversationStatus } from '@cc/common';
import { MessagesService } from '@cc/conversations';
import { TypingPayload } from './dto/socket.dto';
import { ClientSocket, rooms, SocketHub } from './server-events';

interface Participants {
  customerId: number;
  agentId: number | null;
  status: ConversationStatus;
  until: number;
}

// Typing events come several times a second per conversation: who takes part is asked of the
// database once per socket and conversation, then trusted for a short while (a transfer is seen
// within this time).
const CACHE_MS = 10_000;
const CACHE_MAX = 100;
const CACHE = 'participants';

/** Relays `typing` to the other side of a conversation, never to the sender's own side. */
@Injectable()
export class TypingRelay {
  constructor(
    private readonly messages: MessagesService,
    private readonly hub: SocketHub,
  ) {}

  async relay(socket: ClientSocket, { conversationId, typing }: TypingPayload): Promise<null> {
    const user = socket.data.user;
    const p = await this.participants(socket, conversationId);
    if (p.status === 'resolved') return null;
    // The customer must not learn of an offer from its agent's typing.
    Access.requireNotOfferedTo(user, { customer_id: p.customerId, agent_id: p.agentId, status: p.status });
    const fromCustomer = user.role === 'customer';
    const to = fromCustomer ? [rooms.agentOf(p.agentId)] : [rooms.customer(p.customerId), user.role === 'admin' && rooms.agentOf(p.agentId)];
    this.hub.send(to, 'typing', { conversationId, senderType: fromCustomer ? 'customer' : 'agent', typing });
    return null;
  }

  private async participants(socket: ClientSocket, conversationId: number): Promise<Participants> {
    const cache = (socket.data[CACHE] ??= new Map<number, Participants>()) as Map<number, Participants>;
    const hit = cache.get(conversationId);
    if (hit && hit.until > Date.now()) return hit;
    const found = { ...(await this.messages.participants(socket.data.user, conversationId)), until: Date.now() + CACHE_MS };
    if (cache.size >= CACHE_MAX) cache.clear();
    // An offer is answered within seconds: read it again each time, so typing works at once after an accept.
    if (found.status !== 'offered') cache.set(conversationId, found);
    return found;
  }
}

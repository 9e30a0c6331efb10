import { Injectable, Logger } from '@nestjs/common';
import { Namespace } from 'socket.io';
import { Role } from '@cc/common';
import { AuthService, TokenService } from '@cc/auth';
import { ConversationsService } from '@cc/conversations';
import { PresenceService } from '@cc/presence';
import { MetricsService } from '../platform/metrics.service';
import { PresenceGrace } from './presence-grace.service';
import { socketAuth } from './socket-auth';
import { Ack } from './ws-ack';
import { ClientSocket, SocketHub, SocketNamespace } from './server-events';

/** What both gateways do when a namespace starts and when a socket comes or goes. */
@Injectable()
export class SocketConnections {
  private readonly logger = new Logger('Sockets');

  constructor(
    private readonly hub: SocketHub,
    private readonly tokens: TokenService,
    private readonly auth: AuthService,
    private readonly conversations: ConversationsService,
    private readonly presence: PresenceService,
    private readonly grace: PresenceGrace,
    private readonly metrics: MetricsService,
  ) {}

  init(nsp: Namespace, roles: readonly Role[]): void {
    this.hub.attach(nsp.server);
    nsp.use(socketAuth(this.tokens, roles));
  }

  /** Counts the socket, starts or ends the agent's grace, and sends `ready` with the current state. */
  async connected(socket: ClientSocket, ns: SocketNamespace, events: readonly string[]): Promise<void> {
    this.metrics.socketsConnected.inc({ namespace: ns });
    answerUnknownEvents(socket, ns, events);
    const user = socket.data.user;
    try {
      const [me, conversations, status] = await Promise.all([
        this.auth.me(user),
        this.conversations.openFor(user),
        user.role === 'agent' ? this.presence.status(user.id) : undefined,
        user.role === 'agent' ? this.grace.connected(user.id) : undefined,
      ]);
      this.hub.send(socket, 'ready', { user: status ? { ...me, status } : me, conversations });
    } catch (err) {
      this.logger.error(`ready for ${user.role} ${user.id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  disconnected(socket: ClientSocket, ns: SocketNamespace): void {
    this.metrics.socketsConnected.dec({ namespace: ns });
    const user = socket.data.user;
    if (user?.role === 'agent') {
      this.grace.disconnected(user.id).catch((err) => this.logger.warn(`Presence update for agent ${user.id} failed: ${err?.message ?? err}`));
    }
  }
}

/** An event this namespace has no handler for still gets an answer, never silence. */
function answerUnknownEvents(socket: ClientSocket, ns: SocketNamespace, events: readonly string[]): void {
  socket.onAny((event: string, ...args: unknown[]) => {
    if (events.includes(event)) return;
    const ack = args[args.length - 1];
    if (typeof ack === 'function') ack({ ok: false, error: { statusCode: 404, message: `No event "${event}" on ${ns}` } } satisfies Ack);
  });
}

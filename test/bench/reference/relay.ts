/**
 * The reference relay both reference servers share: plain Socket.IO, no framework.
 *
 * Tokens are ids: `c:17` is customer 17 on `/customer`, `a:17` is agent 17 on `/agent`, and
 * conversation 17 belongs to customer 17 and agent 17. A customer's `message.send` is stored
 * (by the given `store`), acknowledged `{ ok: true, data: message }` and pushed as
 * `message.new { message }` to the agent's room. Prints `{"port":N}` once listening.
 */
import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { Server, Socket } from 'socket.io';

export interface RelayMessage {
  id: number;
  conversationId: number;
  senderType: 'customer';
  senderId: number;
  text: string;
  clientMessageId: string | null;
  createdAt: string;
}

export type NewMessage = Omit<RelayMessage, 'id' | 'createdAt'>;
export type Store = (message: NewMessage) => Promise<RelayMessage>;

interface SendPayload {
  conversationId?: unknown;
  text?: unknown;
  clientMessageId?: unknown;
}

type Ack = (response: unknown) => void;

const fail = (ack: Ack, statusCode: number, message: string) => ack({ ok: false, error: { statusCode, message } });

function authenticate(prefix: 'a' | 'c') {
  return (socket: Socket, next: (err?: Error) => void) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    const match = typeof token === 'string' ? /^([ac]):(\d+)$/.exec(token) : null;
    if (!match || match[1] !== prefix) return next(new Error('unauthorized'));
    socket.data.id = Number(match[2]);
    next();
  };
}

export async function startRelay(store: Store, onClose: () => Promise<void> = async () => undefined): Promise<void> {
  const http = createServer();
  const io = new Server(http, { serveClient: false });

  const agents = io.of('/agent');
  agents.use(authenticate('a'));
  agents.on('connection', (socket) => void socket.join(`agent:${socket.data.id as number}`));

  io.of('/customer')
    .use(authenticate('c'))
    .on('connection', (socket) => {
      const customerId = socket.data.id as number;
      socket.on('message.send', (payload: SendPayload, ack?: Ack) => {
        if (typeof ack !== 'function') return;
        const { conversationId, text, clientMessageId } = payload ?? {};
        if (typeof text !== 'string' || text.length < 1 || text.length > 4000) return fail(ack, 400, 'text must be 1..4000 characters');
        if (conversationId !== customerId) return fail(ack, 403, 'Not a participant of this conversation');
        const cmid = typeof clientMessageId === 'string' ? clientMessageId : null;
        store({ conversationId, senderType: 'customer', senderId: customerId, text, clientMessageId: cmid }).then(
          (message) => {
            ack({ ok: true, data: message });
            agents.to(`agent:${conversationId}`).emit('message.new', { message });
          },
          (error: Error) => fail(ack, 500, error.message),
        );
      });
    });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`);

  const shutdown = () => {
    io.close();
    onClose().finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import type { Ack, AgentClientEvent, ClientEventMap, ConversationView, CustomerClientEvent, MessageView, ServerEventMap, StartConversationPayload } from '@cc/protocol';
import { ApiError } from './errors';
import { randomId } from './ids';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'unauthorized' | 'closed';

/**
 * What `on(...)` can listen to: every server event of the contract, plus `connection`. The
 * `message.new` handlers get each message exactly once, in id order per conversation, whether it
 * came live or from a `messages.sync` after a reconnect.
 */
export type ClientEvents = ServerEventMap & {
  connection: { state: ConnectionState; reason?: string };
};

export interface RealtimeOptions {
  token: string;
  /** Origin of the server, e.g. `http://localhost:3000`; empty or omitted: the page's own origin. */
  baseUrl?: string;
  /** How long one acknowledgement may take before it counts as lost (default 5000 ms). */
  ackTimeoutMs?: number;
  /** How long `send` keeps retrying a lost acknowledgement, reconnects included (default 60000 ms). */
  sendTimeoutMs?: number;
  /** Passed to `io(...)` (transports, reconnection delays, ...). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /** Connect at once (default true); else call `connect()`. */
  autoConnect?: boolean;
}

/** The most `messages.sync` answers at once (API.md section 8): a full page means ask again. */
const SYNC_PAGE = 1000;
const RETRY_MS = 1000;
const MAX_RETRY_MS = 10_000;

/** Per conversation: what has been emitted, and whether the live stream can be trusted. */
class ConversationStream {
  lastId = 0;
  readonly seen = new Set<number>();
  /** True until a `messages.sync` succeeded since the last (re)connection: live messages wait. */
  stale = true;
  syncing: Promise<void> | null = null;
  again = false;
  buffer: MessageView[] = [];
}

type Handler<T> = (payload: T) => void;

/**
 * A Socket.IO connection to `/agent` or `/customer` with typed events, gapless message delivery
 * and idempotent sends. See docs/client.md.
 */
export abstract class RealtimeClient<Events extends keyof ClientEventMap> {
  readonly socket: Socket;
  state: ConnectionState = 'connecting';
  /** The `user` of the last `ready`. */
  user: ClientEvents['ready']['user'] | null = null;

  private readonly handlers = new Map<string, Set<Handler<never>>>();
  private readonly streams = new Map<number, ConversationStream>();
  private readonly ackTimeoutMs: number;
  private readonly sendTimeoutMs: number;
  private closed = false;
  private retryMs = RETRY_MS;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  protected constructor(namespace: '/agent' | '/customer', options: RealtimeOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
    const base = (options.baseUrl ?? '').replace(/\/$/, '');
    // Its own connection (`forceNew`): Socket.IO would otherwise multiplex `/agent` and `/customer`
    // of one origin over one transport, and a cut of one client would cut the other.
    this.socket = io(`${base}${namespace}`, { forceNew: true, ...options.socketOptions, auth: { token: options.token }, autoConnect: false });
    this.socket.on('connect', () => {
      this.retryMs = RETRY_MS;
      this.setState('connected');
    });
    this.socket.on('disconnect', (reason) => {
      for (const stream of this.streams.values()) stream.stale = true;
      if (this.closed) return;
      this.setState('disconnected', reason);
      // Socket.IO reconnects by itself except after a server-side disconnect: ask again (a
      // revoked token then ends in `unauthorized`).
      if (reason === 'io server disconnect') this.reconnectLater();
    });
    this.socket.on('connect_error', (err) => {
      if (err.message === 'unauthorized') {
        this.setState('unauthorized', err.message);
        return;
      }
      this.setState('disconnected', err.message);
      if (!this.socket.active) this.reconnectLater(); // refused by the server (`unavailable`): retry
    });
    this.socket.on('ready', (payload: ServerEventMap['ready']) => this.onReady(payload));
    this.socket.on('message.new', (payload: ServerEventMap['message.new']) => this.receive(payload.message));
    this.socket.onAny((event: string, payload: unknown) => {
      if (event !== 'ready' && event !== 'message.new') this.dispatch(event, payload);
    });
    if (options.autoConnect !== false) this.connect();
  }

  connect(): void {
    this.closed = false;
    this.setState('connecting');
    this.socket.connect();
  }

  /** Disconnects for good (until `connect()`). */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.setState('closed');
  }

  /** Listens to a server event (or `connection`); answers a function that stops listening. */
  on<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  once<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void): () => void {
    const off = this.on(event, (payload) => {
      off();
      handler(payload);
    });
    return off;
  }

  /** Sends a client event and answers its ack `data`; an error ack rejects with `ApiError`. */
  async request<K extends Events>(event: K, payload: ClientEventMap[K]['payload']): Promise<ClientEventMap[K]['data']> {
    const ack = (await this.socket.timeout(this.ackTimeoutMs).emitWithAck(event, payload)) as Ack<ClientEventMap[K]['data']>;
    if (!ack.ok) throw new ApiError(ack.error);
    return ack.data;
  }

  /**
   * Sends a message and resolves with the stored message. The `clientMessageId` is generated
   * once: a lost acknowledgement (timeout, disconnect) is retried with the same id, also across
   * reconnects, so the message is stored once. An error ack (403, 409, ...) rejects at once; a
   * 429 waits and retries; after `sendTimeoutMs` without an answer it rejects.
   */
  async send(conversationId: number, text: string, options: { clientMessageId?: string } = {}): Promise<MessageView> {
    const payload = { conversationId, text, clientMessageId: options.clientMessageId ?? randomId() };
    const deadline = Date.now() + this.sendTimeoutMs;
    let delay = 200;
    for (;;) {
      if (!this.socket.connected) await this.connected(deadline);
      let ack: Ack<MessageView> | null = null;
      try {
        ack = (await this.socket.timeout(Math.max(1, Math.min(this.ackTimeoutMs, deadline - Date.now()))).emitWithAck('message.send', payload)) as Ack<MessageView>;
      } catch {
        // The ack was lost (timeout or disconnect): try again with the same clientMessageId.
      }
      if (ack?.ok) return ack.data;
      if (ack && ack.error.statusCode !== 429) throw new ApiError(ack.error);
      if (Date.now() >= deadline) throw new Error(`message.send: no acknowledgement within ${this.sendTimeoutMs} ms`);
      if (ack) {
        await sleep(Math.min(delay, deadline - Date.now()));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  resolve(conversationId: number, notes?: string): Promise<ConversationView> {
    return this.request('conversation.resolve' as Events, (notes === undefined ? { conversationId } : { conversationId, notes }) as never) as Promise<ConversationView>;
  }

  /** Tells the other side whether this user is typing (fire and forget: errors are ignored). */
  typing(conversationId: number, typing: boolean): void {
    this.request('typing' as Events, { conversationId, typing } as never).catch(() => undefined);
  }

  /**
   * Follows a conversation: its messages after `afterId` (default: all) are fetched and emitted,
   * and from then on every message exactly once. Conversations in `ready`, started, assigned or
   * transferred to this user, and any that a `message.new` names, are followed automatically.
   */
  follow(conversationId: number, afterId = 0): Promise<void> {
    const stream = this.streams.get(conversationId);
    if (!stream) {
      const created = new ConversationStream();
      created.lastId = afterId;
      this.streams.set(conversationId, created);
    }
    return this.sync(conversationId);
  }

  /** Stops following a conversation (nothing more is emitted for it). */
  forget(conversationId: number): void {
    this.streams.delete(conversationId);
  }

  /** The id of the newest message emitted for the conversation (0: none). */
  lastMessageId(conversationId: number): number {
    return this.streams.get(conversationId)?.lastId ?? 0;
  }

  /** Ids of the conversations followed. */
  get followed(): number[] {
    return [...this.streams.keys()];
  }

  /**
   * Fetches what the conversation missed since the last emitted message, repeatedly while
   * messages arrive meanwhile, then emits them with the live ones that waited, in id order.
   */
  sync(conversationId: number): Promise<void> {
    let stream = this.streams.get(conversationId);
    if (!stream) this.streams.set(conversationId, (stream = new ConversationStream()));
    const s = stream;
    if (s.syncing) {
      s.again = true;
      return s.syncing;
    }
    s.syncing = (async () => {
      let ok = false;
      try {
        do {
          s.again = false;
          for (;;) {
            const page = await this.request('messages.sync' as Events, { conversationId, afterId: s.lastId } as never) as MessageView[];
            this.deliver(s, page);
            if (page.length < SYNC_PAGE) break;
          }
        } while (s.again);
        ok = true;
      } catch (err) {
        if (err instanceof ApiError && (err.statusCode === 403 || err.statusCode === 404)) this.streams.delete(conversationId);
        else if (this.socket.connected && !this.closed) setTimeout(() => this.streams.get(conversationId) === s && this.sync(conversationId), RETRY_MS);
      } finally {
        s.syncing = null;
      }
      if (ok && this.streams.get(conversationId) === s) {
        s.stale = false;
        this.deliver(s, s.buffer.splice(0));
      } else {
        // Not whole: what waited may sit after a gap, and the next sync fetches it from the store.
        s.buffer = [];
      }
    })();
    return s.syncing;
  }

  protected track(conversation: { id: number }): void {
    if (!this.streams.has(conversation.id)) void this.sync(conversation.id);
  }

  private onReady(payload: ServerEventMap['ready']): void {
    this.user = payload.user;
    this.dispatch('ready', payload);
    const ids = new Set([...this.streams.keys(), ...payload.conversations.map((c) => c.id)]);
    for (const id of ids) void this.sync(id);
  }

  private receive(message: MessageView): void {
    let s = this.streams.get(message.conversationId);
    if (!s) {
      // A conversation this client did not know: its history first, then the live stream.
      this.streams.set(message.conversationId, (s = new ConversationStream()));
      s.buffer.push(message);
      void this.sync(message.conversationId);
      return;
    }
    if (s.stale || s.syncing) {
      s.buffer.push(message);
      if (!s.syncing) void this.sync(message.conversationId);
      return;
    }
    this.deliver(s, [message]);
  }

  private deliver(s: ConversationStream, messages: MessageView[]): void {
    const fresh = messages.filter((m) => !s.seen.has(m.id)).sort((a, b) => a.id - b.id);
    for (const message of fresh) {
      if (s.seen.has(message.id)) continue;
      s.seen.add(message.id);
      if (message.id > s.lastId) s.lastId = message.id;
      this.dispatch('message.new', { message });
    }
  }

  protected dispatch(event: string, payload: unknown): void {
    if (event === 'conversation.assigned' || event === 'conversation.queued') this.track((payload as { conversation: ConversationView }).conversation);
    if (event === 'conversation.transferred') {
      const { conversation, toAgentId } = payload as ServerEventMap['conversation.transferred'];
      if (this.user?.role !== 'agent' || toAgentId === this.user.id) this.track(conversation);
    }
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      try {
        (handler as Handler<unknown>)(payload);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  private setState(state: ConnectionState, reason?: string): void {
    if (this.state === state && state !== 'disconnected') return;
    this.state = state;
    this.dispatch('connection', reason === undefined ? { state } : { state, reason });
  }

  private reconnectLater(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private connected(deadline: number): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off('connect', onConnect);
        reject(new Error(`not connected within ${this.sendTimeoutMs} ms`));
      }, Math.max(0, deadline - Date.now()));
      const onConnect = () => {
        clearTimeout(timer);
        resolve();
      };
      this.socket.once('connect', onConnect);
    });
  }
}

/** An agent's (or admin's) connection to `/agent`. */
export class AgentClient extends RealtimeClient<AgentClientEvent> {
  constructor(options: RealtimeOptions) {
    super('/agent', options);
  }
}

/** A customer's connection to `/customer`. */
export class CustomerClient extends RealtimeClient<CustomerClientEvent> {
  constructor(options: RealtimeOptions) {
    super('/customer', options);
  }

  /** Starts a conversation (409 with `conversationId` when one is open) and follows it. */
  async start(payload: StartConversationPayload = {}): Promise<ConversationView> {
    const conversation = await this.request('conversation.start', payload);
    this.track(conversation);
    return conversation;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

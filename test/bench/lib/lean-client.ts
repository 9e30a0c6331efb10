/**
 * A lean Socket.IO v4 client: Engine.IO v4 over the `ws` package, websocket transport only,
 * text packets only (no binary attachments, no polling, no reconnection).
 *
 * It exists so that a load generator costs the machine as little CPU as possible:
 * one WebSocket, one JSON.stringify per emit, one JSON.parse per received event that has a handler.
 *
 * Wire format (https://socket.io/docs/v4/socket-io-protocol/):
 *   engine packets: 0 open {sid,pingInterval,...}, 1 close, 2 ping, 3 pong, 4 message
 *   socket packets (inside an engine "4"): <type>[/nsp,][ackId][json]
 *     0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR
 *   e.g. `40/agent,{"token":"..."}`, `42/agent,7["message.send",{...}]`, `43/agent,7[{...}]`
 */
import WebSocket from 'ws';

export type EventHandler = (...args: unknown[]) => void;
export type AckCallback = (...args: unknown[]) => void;

export interface LeanSocketOptions {
  /** e.g. `http://127.0.0.1:3000` */
  url: string;
  /** e.g. `/agent` */
  namespace: string;
  /** sent as the handshake `auth` object: `{ token }` */
  token: string;
  connectTimeoutMs?: number;
  path?: string;
}

export class ConnectError extends Error {
  constructor(message: string, readonly data?: unknown) {
    super(message);
  }
}

export class LeanSocket {
  private ws?: WebSocket;
  private readonly prefix: string;
  private readonly handlers = new Map<string, EventHandler[]>();
  private readonly acks = new Map<number, AckCallback>();
  private nextAckId = 0;
  private closed = false;
  connected = false;
  /** Why the socket ended, once it has. */
  closeReason?: string;

  constructor(private readonly options: LeanSocketOptions) {
    this.prefix = options.namespace === '/' ? '' : `${options.namespace},`;
  }

  /** Opens the WebSocket and joins the namespace; rejects on `connect_error`, socket error or timeout. */
  connect(): Promise<this> {
    const { url, token, connectTimeoutMs = 10_000, path = '/socket.io/' } = this.options;
    const wsUrl = `${url.replace(/^http/, 'ws')}${path}?EIO=4&transport=websocket`;
    return new Promise<this>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          this.close();
          reject(error);
        } else resolve(this);
      };
      const timer = setTimeout(() => settle(new ConnectError('connect timeout')), connectTimeoutMs);
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false, handshakeTimeout: connectTimeoutMs });
      this.ws = ws;
      ws.on('error', (err) => settle(new ConnectError(`socket error: ${err.message}`)));
      ws.on('close', (code) => {
        this.connected = false;
        this.closeReason ??= `transport close (${code})`;
        this.failPendingAcks();
        settle(new ConnectError(this.closeReason));
        this.dispatch('disconnect', [this.closeReason]);
      });
      ws.on('message', (raw: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return;
        const packet = raw.toString();
        switch (packet.charCodeAt(0)) {
          case 0x30: // 0 open
            ws.send(`40${this.prefix}${JSON.stringify({ token })}`);
            return;
          case 0x32: // 2 ping
            ws.send('3');
            return;
          case 0x31: // 1 close
            this.closeReason = 'server close';
            ws.close();
            return;
          case 0x34: // 4 message
            this.onSocketPacket(packet, settle);
            return;
        }
      });
    });
  }

  on(event: string, handler: EventHandler): this {
    const list = this.handlers.get(event);
    if (list) list.push(handler);
    else this.handlers.set(event, [handler]);
    return this;
  }

  /** Emits an event; with `ack`, asks the server for an acknowledgement. */
  emit(event: string, payload: unknown, ack?: AckCallback): void {
    if (!this.ws || !this.connected) {
      ack?.({ ok: false, error: { statusCode: 0, message: 'not connected' } });
      return;
    }
    let id = '';
    if (ack) {
      const ackId = this.nextAckId++;
      this.acks.set(ackId, ack);
      id = String(ackId);
    }
    this.ws.send(`42${this.prefix}${id}${JSON.stringify([event, payload])}`);
  }

  /** Emits and resolves with the first acknowledgement argument. */
  emitWithAck<T = unknown>(event: string, payload: unknown, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ack timeout for ${event}`)), timeoutMs);
      this.emit(event, payload, (response) => {
        clearTimeout(timer);
        resolve(response as T);
      });
    });
  }

  /** Number of emitted events still waiting for their acknowledgement. */
  get pendingAcks(): number {
    return this.acks.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason ??= 'client close';
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(`41${this.prefix}`);
      ws.close();
    } else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }

  private onSocketPacket(packet: string, settleConnect: (error?: Error) => void): void {
    const type = packet.charCodeAt(1);
    let i = 2;
    if (packet.charCodeAt(i) === 0x2f /* '/' */) {
      const comma = packet.indexOf(',', i);
      if (comma < 0) return; // "/nsp" with nothing after: only possible for DISCONNECT
      if (packet.slice(i, comma) !== this.options.namespace) return;
      i = comma + 1;
    }
    let ackId = -1;
    while (i < packet.length) {
      const c = packet.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      ackId = (ackId < 0 ? 0 : ackId * 10) + (c - 0x30);
      i++;
    }
    const body = packet.slice(i);
    switch (type) {
      case 0x30: // CONNECT
        this.connected = true;
        settleConnect();
        return;
      case 0x34: {
        // CONNECT_ERROR
        const data = body ? JSON.parse(body) : undefined;
        const message = (data as { message?: string } | undefined)?.message ?? 'connect_error';
        this.closeReason = `connect_error: ${message}`;
        settleConnect(new ConnectError(message, data));
        return;
      }
      case 0x32: {
        // EVENT: skip parsing when nobody listens (e.g. the customer's copy of its own message)
        const nameEnd = body.indexOf('"', 2);
        if (nameEnd > 2 && !this.handlers.has(body.slice(2, nameEnd))) return;
        const args = JSON.parse(body) as unknown[];
        this.dispatch(args[0] as string, args.slice(1));
        return;
      }
      case 0x33: {
        // ACK
        const ack = this.acks.get(ackId);
        if (!ack) return;
        this.acks.delete(ackId);
        ack(...(JSON.parse(body) as unknown[]));
        return;
      }
      case 0x31: // DISCONNECT by server
        this.closeReason = 'io server disconnect';
        this.ws?.close();
        return;
    }
  }

  private dispatch(event: string, args: unknown[]): void {
    const list = this.handlers.get(event);
    if (!list) return;
    for (const handler of list) handler(...args);
  }

  private failPendingAcks(): void {
    if (this.acks.size === 0) return;
    const pending = [...this.acks.values()];
    this.acks.clear();
    for (const ack of pending) ack({ ok: false, error: { statusCode: 0, message: 'disconnected' } });
  }
}

/** Connects a lean socket, resolving once the namespace accepted it. */
export function connectLean(options: LeanSocketOptions): Promise<LeanSocket> {
  return new LeanSocket(options).connect();
}

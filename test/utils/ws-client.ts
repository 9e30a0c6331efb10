import { io, Socket } from 'socket.io-client';

export type Ack<T = any> = { ok: true; data: T } | { ok: false; error: { statusCode: number; message: string | string[]; [extra: string]: unknown } };

const DEFAULT_WAIT_MS = 5000;

/**
 * A socket.io-client socket that records every event it receives, with bounded waits: nothing
 * here can hang a test past its timeout.
 */
export class WsClient {
  readonly received: { event: string; payload: any }[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => {
      this.received.push({ event, payload });
      for (const listener of [...this.listeners]) listener();
    });
  }

  /** Every payload of `event` received so far (matching `where`, when given). */
  all<T = any>(event: string, where: (payload: T) => boolean = () => true): T[] {
    return this.received.filter((r) => r.event === event && where(r.payload)).map((r) => r.payload);
  }

  /** The first payload of `event` (received already or yet to come) matching `where`. */
  waitFor<T = any>(event: string, where: (payload: T) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find((r) => r.event === event && where(r.payload));
        if (!found) return false;
        done();
        resolve(found.payload);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no "${event}" within ${timeoutMs} ms; got: ${this.received.map((r) => r.event).join(', ') || 'nothing'}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      if (!check()) this.listeners.add(check);
    });
  }

  /** Emits with an acknowledgement callback and answers the ack (rejects if none comes in time). */
  request<T = any>(event: string, ...args: unknown[]): Promise<Ack<T>> {
    return this.socket.timeout(DEFAULT_WAIT_MS).emitWithAck(event, ...args);
  }

  /** Like `request` but expects success and answers `data`. */
  async ok<T = any>(event: string, payload: unknown): Promise<T> {
    const ack = await this.request<T>(event, payload);
    if (!ack.ok) throw new Error(`${event} failed: ${JSON.stringify(ack.error)}`);
    return ack.data;
  }

  /** Gives in-flight events time to arrive (for asserting that something did not). */
  settle(ms = 300): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /** Resolves when the server disconnects this socket (at once if it is not connected). */
  disconnected(timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    if (!this.socket.connected) return Promise.resolve('not connected');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs);
      this.socket.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
  }

  close(): void {
    this.socket.disconnect();
  }
}

function open(url: string, namespace: string, token: string | undefined): Socket {
  return io(`${url}${namespace}`, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: DEFAULT_WAIT_MS,
  });
}

/** Connects and waits for `ready`; rejects with the connect_error message otherwise. */
export async function connect(url: string, namespace: '/agent' | '/customer', token: string): Promise<{ client: WsClient; ready: any }> {
  const client = new WsClient(open(url, namespace, token));
  const failed = new Promise<never>((_, reject) => client.socket.once('connect_error', (err) => reject(new Error(`connect_error: ${err.message}`))));
  try {
    const ready = await Promise.race([client.waitFor('ready'), failed]);
    return { client, ready };
  } catch (err) {
    client.socket.disconnect();
    throw err;
  }
}

/** Tries to connect and answers the connect_error message (rejects if it connects instead). */
export function connectError(url: string, namespace: string, token: string | undefined): Promise<string> {
  const socket = open(url, namespace, token);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error('neither connect nor connect_error'))), DEFAULT_WAIT_MS);
    const finish = (then: () => void) => {
      clearTimeout(timer);
      socket.disconnect();
      then();
    };
    socket.once('connect_error', (err) => finish(() => resolve(err.message)));
    socket.once('connect', () => finish(() => reject(new Error('connected, but a connect_error was expected'))));
  });
}

/** Closes every client given (closing twice is harmless). */
export function closeAll(clients: (WsClient | undefined)[]): void {
  for (const c of clients) c?.close();
}

import { AddressInfo, createServer, Server, Socket } from 'net';

/**
 * pass:   bytes flow both ways.
 * refuse: new connections are closed at once and open ones are cut (a database that went away).
 * stall:  connections are accepted and open ones stay open, but no byte moves either way until
 *         the mode changes back to pass (a database that hangs; what was held is then delivered).
 */
export type ProxyMode = 'pass' | 'refuse' | 'stall';

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** A TCP proxy for fault injection, e.g. in front of PostgreSQL: `DATABASE_URL` points at it. */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private mode: ProxyMode = 'pass';
  port = 0;

  private constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.listen(port);
    return proxy;
  }

  /** A proxy in front of the server of a postgres:// URL, and that URL rewritten to go through it. */
  static async forUrl(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const u = new URL(url);
    const proxy = await TcpProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    return { proxy, url: u.toString() };
  }

  get current(): ProxyMode {
    return this.mode;
  }

  get connections(): number {
    return this.pairs.size;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    for (const pair of [...this.pairs]) {
      if (mode === 'refuse') this.cut(pair);
      else if (mode === 'stall') {
        pair.client.pause();
        pair.upstream.pause();
      } else {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
  }

  pass(): void {
    this.setMode('pass');
  }
  refuse(): void {
    this.setMode('refuse');
  }
  stall(): void {
    this.setMode('stall');
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.cut(pair);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    // Pipe by hand so that pause() really holds the bytes (pipe() would resume on drain).
    client.on('data', (chunk) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('data', (chunk) => {
      if (!client.write(chunk)) upstream.pause();
    });
    upstream.on('drain', () => this.mode === 'pass' && client.resume());
    client.on('drain', () => this.mode === 'pass' && upstream.resume());
    const end = () => this.cut(pair);
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    if (this.mode === 'stall') client.pause();
    upstream.connect(this.targetPort, this.targetHost, () => {
      if (this.mode === 'stall') upstream.pause();
    });
  }

  private cut(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}

import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo, Socket } from 'net';
import { WebhookClient } from './webhook-client';

/** A real HTTP server on a loopback port that counts the connections it accepted. */
async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string; connections: () => number; sockets: Set<Socket> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?x=1`, connections: () => connections, sockets };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WebhookClient', () => {
  const servers: Server[] = [];
  const clients: WebhookClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  function client(timeoutMs = 10_000): WebhookClient {
    const c = new WebhookClient(timeoutMs, 4);
    clients.push(c);
    return c;
  }

  it('POSTs the body and headers to the path, and reuses one keep-alive connection for successive calls', async () => {
    const seen: { method?: string; url?: string; type?: string; id?: string }[] = [];
    const r = await listen((req, res) => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], id: req.headers['x-webhook-id'] as string });
      res.writeHead(204).end();
    });
    servers.push(r.server);
    const c = client();
    for (let i = 0; i < 20; i++) expect(await c.post(r.url, { 'Content-Type': 'application/json', 'X-Webhook-Id': `e${i}` }, '{}')).toBe(204);
    expect(seen).toHaveLength(20);
    expect(seen[0]).toEqual({ method: 'POST', url: '/hook?x=1', type: 'application/json', id: 'e0' });
    // (A second connection may open when a call is made the moment the previous answer ends.)
    expect(r.connections()).toBeLessThanOrEqual(2);
  });

  it('works with a receiver that closes the connection after every answer, or after a short idle time', async () => {
    const closing = await listen((_req, res) => res.writeHead(200, { Connection: 'close' }).end('ok'));
    servers.push(closing.server);
    const c = client();
    for (let i = 0; i < 10; i++) expect(await c.post(closing.url, {}, '{}')).toBe(200);
    expect(closing.connections()).toBe(10);

    const idle = await listen((_req, res) => res.writeHead(200).end());
    idle.server.keepAliveTimeout = 300;
    servers.push(idle.server);
    for (let i = 0; i < 4; i++) {
      expect(await c.post(idle.url, {}, '{}')).toBe(200);
      await sleep(400); // the receiver has closed the idle connection by now
    }
    expect(idle.connections()).toBeGreaterThanOrEqual(2);
  });

  it('a receiver that drops the connection mid-call fails the call with the connection error', async () => {
    const r = await listen((req) => req.socket.destroy());
    servers.push(r.server);
    await expect(client().post(r.url, {}, '{}')).rejects.toThrow(/other side closed|socket hang up|ECONNRESET/);
  });

  it('fails "No answer within N s" after the timeout, counting from the start of the call', async () => {
    const r = await listen(() => undefined); // never answers
    servers.push(r.server);
    const started = Date.now();
    await expect(client(300).post(r.url, {}, '{}')).rejects.toThrow(/^No answer within 0.3 s$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers a redirect as its status without following it', async () => {
    let followed = 0;
    const target = await listen((_req, res) => {
      followed++;
      res.writeHead(200).end();
    });
    const r = await listen((_req, res) => res.writeHead(302, { Location: target.url }).end());
    servers.push(target.server, r.server);
    expect(await client().post(r.url, {}, '{}')).toBe(302);
    expect(followed).toBe(0);
  });

  it('a refused connection fails with its message', async () => {
    const r = await listen(() => undefined);
    const { url } = r;
    await new Promise((resolve) => r.server.close(resolve));
    await expect(client().post(url, {}, '{}')).rejects.toThrow(/ECONNREFUSED/);
  });
});

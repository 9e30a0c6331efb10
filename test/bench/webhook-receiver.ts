/**
 * The event-webhook receiver of the outbox targets (`hooked`, `hookedsplit`): a stand-in for the
 * integrator's machine, in its own process so that it does not share the bench process's event
 * loop, and started under `nice -n 19` (children.ts) so that it takes the cores only when the
 * server, PostgreSQL and the load generator leave them idle.
 *
 * Prints `{"port": n}` on stdout once listening. `POST /hook` answers 204 and counts the call by
 * its `X-Webhook-Id`; `GET /stats` answers the counts; `GET /ids` every id received, one a line,
 * so the bench can check each event against the database (arrived, once, or with counted retries).
 */
import { createServer } from 'http';
import type { AddressInfo } from 'net';

export interface ReceiverStats {
  calls: number;
  /** Distinct X-Webhook-Id values received. */
  distinct: number;
  /** Calls for an id received before (retries, or an attempt made again after its lease). */
  repeats: number;
  /** Calls without an X-Webhook-Id header (must be 0). */
  withoutId: number;
}

const seen = new Map<string, number>();
let calls = 0;
let withoutId = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const stats: ReceiverStats = { calls, distinct: seen.size, repeats: calls - withoutId - seen.size, withoutId };
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'GET' && req.url === '/ids') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end([...seen.keys()].join('\n'));
    return;
  }
  req.resume();
  req.on('end', () => {
    calls++;
    const id = req.headers['x-webhook-id'];
    if (typeof id === 'string' && id) seen.set(id, (seen.get(id) ?? 0) + 1);
    else withoutId++;
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

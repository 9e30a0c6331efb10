import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import type { AppConfig } from '@cc/common';
import type { MessageWriter } from '@cc/conversations';
import type { ClaimedDelivery, OutboxRepository } from '@cc/database';
import { MAX_IN_FLIGHT, WebhookDispatcher, YIELD_MS } from './webhook-dispatcher';

/** An outbox of `count` due deliveries in memory: every claim statement (with room to claim) is logged with its time. */
function fakeOutbox(url: string, count: number) {
  const due: ClaimedDelivery[] = Array.from({ length: count }, (_, i) => ({
    id: String(i + 1),
    attempts: 1,
    webhookId: 1,
    url,
    secret: 's',
    eventUid: `e${i + 1}`,
    occurredAt: new Date(),
    body: '{}',
  }));
  const claims: { at: number; limit: number }[] = [];
  const delivered = new Set<string>();
  const take = (limit: number) => {
    if (limit > 0) claims.push({ at: Date.now(), limit });
    return due.splice(0, limit);
  };
  const outbox = {
    claim: async (limit: number) => take(limit),
    deliveredAndClaim: async (answers: { id: string }[], limit: number) => {
      for (const a of answers) delivered.add(a.id);
      return take(limit);
    },
    attemptFailed: async () => undefined,
    prune: async () => 0,
  };
  return { outbox: outbox as unknown as OutboxRepository, claims, delivered };
}

const config = { webhookDispatch: true, webhookPollMs: 250, webhookRetentionDays: 7, webhookRetryScale: 1 } as AppConfig;

describe('WebhookDispatcher yielding to the message path', () => {
  let receiver: Server;
  let url: string;
  let calls = 0;
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  async function run(queued: () => number, count: number) {
    calls = 0;
    const { outbox, claims, delivered } = fakeOutbox(url, count);
    const messages = {
      get queued() {
        return queued();
      },
    };
    const dispatcher = new WebhookDispatcher(outbox, config, messages as MessageWriter);
    dispatcher.onApplicationBootstrap();
    const deadline = Date.now() + 20_000;
    while (delivered.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await dispatcher.onApplicationShutdown();
    return { claims, delivered, calls };
  }

  it('while messages wait for a batch, claims at most once per YIELD_MS and still sends everything', async () => {
    const count = 4 * MAX_IN_FLIGHT;
    const { claims, delivered, calls: received } = await run(() => 3, count);
    expect(delivered.size).toBe(count);
    expect(received).toBe(count);
    // Each claim statement takes at most MAX_IN_FLIGHT, so the sending needed several of them.
    expect(claims.length).toBeGreaterThanOrEqual(count / MAX_IN_FLIGHT);
    for (const c of claims) expect(c.limit).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    for (let i = 1; i < claims.length; i++) expect(claims[i].at - claims[i - 1].at).toBeGreaterThanOrEqual(YIELD_MS - 1);
  });
});

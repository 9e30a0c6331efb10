/**
 * Holds many idle authenticated sockets (lean client) for the connections phase.
 * Forked by run.ts; one process keeps at most a few thousand sockets, well below the
 * open-file limit. IPC methods: `connect` (HolderInit → ConnectReport), `count`, `close`.
 */
import { performance } from 'perf_hooks';
import { settleLimit } from './lib/concurrency';
import { LeanSocket } from './lib/lean-client';
import type { ConnectReport, HolderInit } from './lib/protocol';
import { serveRpc } from './lib/rpc';

let sockets: LeanSocket[] = [];

async function connect(init: HolderInit): Promise<ConnectReport> {
  const started = performance.now();
  const deadline = Date.now() + init.timeLimitMs;
  const outcome = await settleLimit(init.sockets, init.concurrency, ({ namespace, token }) =>
    Date.now() > deadline
      ? Promise.reject(new Error('not attempted within the time limit'))
      : new LeanSocket({ url: init.url, namespace, token, connectTimeoutMs: 20_000 }).connect(),
  );
  sockets = outcome.results.filter((s): s is LeanSocket => s !== undefined);
  return { sockets: init.sockets.length, connected: sockets.length, failures: outcome.failures, errors: outcome.errors, ms: performance.now() - started };
}

serveRpc({
  connect,
  count: async () => sockets.filter((s) => s.connected).length,
  close: async () => {
    for (const socket of sockets) socket.close();
    setTimeout(() => process.exit(0), 200);
    return true;
  },
});

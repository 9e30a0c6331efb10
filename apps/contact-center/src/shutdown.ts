import { INestApplication, Logger } from '@nestjs/common';
import { Server } from 'http';
import { BatchQueue } from '@cc/database';
import { ShutdownState } from './platform/shutdown-state';
import { SocketHub } from './realtime/server-events';

/** A rolling deploy waits this long at most for an instance to stop. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * Graceful stop (SIGTERM): readiness turns 503, the listener stops taking connections, every
 * message and decision already accepted is written (group-commit queues drained), this
 * instance's sockets are closed so their clients reconnect to another instance, then the app
 * closes (database pool, Redis). Bounded: whatever is left after the deadline is abandoned.
 */
export async function shutdownGracefully(app: INestApplication, deadlineMs = SHUTDOWN_DEADLINE_MS): Promise<void> {
  const logger = new Logger('Shutdown');
  const started = Date.now();
  app.get(ShutdownState).begin();
  const server = app.getHttpServer() as Server;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections?.();

  const drained = await BatchQueue.allIdle(Math.max(0, deadlineMs / 2 - (Date.now() - started)));
  if (!drained) logger.warn('Pending writes not drained before the deadline');

  const hub = app.get(SocketHub, { strict: false });
  const sockets = hub.localSockets();
  app.get(ShutdownState).socketsClosed = sockets.length;
  for (const socket of sockets) socket.disconnect(true);

  // In-flight HTTP requests finish; keep-alive connections that stay idle are closed.
  server.closeIdleConnections?.();
  await Promise.race([closed, new Promise((r) => setTimeout(r, Math.max(0, deadlineMs * 0.7 - (Date.now() - started))))]);
  server.closeAllConnections?.();
  await app.close();
  logger.log(`Stopped in ${Date.now() - started} ms`);
}

import pino from 'pino';
import { Counter } from 'prom-client';

/** How the log lines wait for stdout: written when this many bytes are buffered or at the latest after `flushMs`; past `maxBytes` a line is dropped (and counted). */
export interface LogBuffer {
  minBytes: number;
  maxBytes: number;
  flushMs: number;
}

/** About eight request lines per write; at most one second of a quiet server's lines waiting; 4 MiB when stdout does not keep up. */
export const LOG_BUFFER: LogBuffer = { minBytes: 8 * 1024, maxBytes: 4 * 1024 * 1024, flushMs: 1000 };

/** Lines dropped because stdout took them slower than they came and the buffer was full (registered by MetricsService). */
export const logLinesDropped = new Counter({ name: 'cc_log_lines_dropped_total', help: 'Log lines dropped because the log buffer was full (stdout did not keep up)', registers: [] });

export type LogDestination = ReturnType<typeof pino.destination>;

/**
 * pino's asynchronous destination (sonic-boom) on `fd`: a request costs a string append instead
 * of a write system call. The buffer is written synchronously on process exit (pino registers
 * that for asynchronous destinations: process.exit, an uncaught exception, the end of the event
 * loop). A SIGKILL or a crash of the runtime itself loses what is buffered: under `minBytes`
 * and at most `flushMs` of lines, plus any write in flight.
 */
export function createLogDestination(fd: number, buffer: LogBuffer = LOG_BUFFER): LogDestination {
  const destination = pino.destination({ dest: fd, sync: false, minLength: buffer.minBytes, maxLength: buffer.maxBytes, periodicFlush: buffer.flushMs });
  // One write of pino is one line.
  destination.on('drop', () => logLinesDropped.inc());
  return destination;
}

let stdout: LogDestination | undefined;

/** The process's stdout destination: one per process, whatever the number of apps in it (tests). */
export function stdoutLogDestination(): LogDestination {
  return (stdout ??= createLogDestination(1));
}

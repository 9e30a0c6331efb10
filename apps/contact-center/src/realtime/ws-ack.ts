import {
  applyDecorators,
  ArgumentsHost,
  CallHandler,
  Catch,
  ExceptionFilter,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  UseFilters,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { finalize, map, Observable } from 'rxjs';
import type { Ack } from '@cc/protocol';
import { toErrorBody } from '../platform/error-body';
import { MetricsService } from '../platform/metrics.service';

/** The acknowledgement of every client event (API.md section 8), defined in `@cc/protocol`. */
export type { Ack } from '@cc/protocol';

// Nest hands socket handlers, guards, interceptors and filters [socket, data, ack, pattern].
const ACK_ARG = 2;

/** The validation pipe of every socket payload: the DTO rules, unknown fields refused. */
export function socketValidationPipe(): ValidationPipe {
  return new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
}

const exceptionsLogger = new Logger('WsExceptionsFilter');

/** The error ack of any exception (5xx ones logged). */
export function errorAck(exception: unknown): Ack {
  const { error: _name, ...error } = toErrorBody(exception);
  if (error.statusCode >= 500) exceptionsLogger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return { ok: false, error };
}

/** Any error of a socket handler (validation, domain, unknown) becomes an error ack; the socket stays connected. */
@Catch()
export class WsAllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ack = host.getArgByIndex(ACK_ARG);
    const answer = errorAck(exception);
    if (typeof ack === 'function') ack(answer);
  }
}

/** Wraps a handler's result as `{ ok: true, data }` and records the ack latency per event. */
@Injectable()
export class AckInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<Ack> {
    const event = String(context.switchToWs().getPattern());
    const stop = this.metrics.ackLatency.startTimer({ event });
    return next.handle().pipe(
      map((data): Ack => ({ ok: true, data: data ?? null })),
      finalize(() => stop()),
    );
  }
}

/**
 * Socket handlers validate payloads exactly like HTTP bodies (the same DTO rules, unknown fields
 * refused) and answer every outcome with an ack.
 */
export function SocketAcks(): ClassDecorator {
  return applyDecorators(
    UsePipes(socketValidationPipe()),
    UseFilters(WsAllExceptionsFilter),
    UseInterceptors(AckInterceptor),
  );
}

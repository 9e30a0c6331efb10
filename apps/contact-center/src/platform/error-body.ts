import { HttpException } from '@nestjs/common';
import { DomainError, httpErrorName } from '@cc/common';

/** PostgreSQL SQLSTATEs of values the database cannot take: numeric out of range, invalid text, too long, check violation. */
const INVALID_VALUE_CODES = new Set(['22003', '22P02', '22001', '23514']);

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  [extra: string]: unknown;
}

/** Turns any thrown value into the contract's error body: `{ statusCode, error, message }`. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof DomainError) {
    return { ...(exception.details ?? {}), statusCode: exception.status, error: httpErrorName(exception.status), message: exception.message };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const message =
      typeof response === 'object' && response !== null && 'message' in response
        ? (response as { message: string | string[] }).message
        : typeof response === 'string'
          ? response
          : exception.message;
    return { statusCode: status, error: httpErrorName(status), message: status === 429 ? 'Too many requests' : message };
  }
  // A value the validation let through but PostgreSQL refuses (out of range, too long, failing a
  // CHECK) is the client's mistake, not a server error.
  const code = (exception as { driverError?: { code?: string }; code?: string })?.driverError?.code ?? (exception as { code?: string })?.code;
  if (typeof code === 'string' && INVALID_VALUE_CODES.has(code)) {
    return { statusCode: 400, error: httpErrorName(400), message: 'A value is out of range or malformed' };
  }
  // body-parser errors carry a status and a type.
  const e = exception as { status?: number; statusCode?: number; type?: string; message?: string };
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message =
      e.type === 'entity.parse.failed' ? 'Invalid JSON in request body' : e.type === 'entity.too.large' ? 'Request body too large' : (e.message ?? 'Bad request');
    return { statusCode: status, error: httpErrorName(status), message };
  }
  return { statusCode: 500, error: httpErrorName(500), message: 'Internal server error' };
}

import type { ErrorBody } from '@cc/protocol';

/** An error answer of the server (HTTP status or error ack), with its body. */
export class ApiError extends Error {
  readonly statusCode: number;

  constructor(readonly body: ErrorBody) {
    super(Array.isArray(body.message) ? body.message.join('; ') : String(body.message));
    this.name = 'ApiError';
    this.statusCode = body.statusCode;
  }
}

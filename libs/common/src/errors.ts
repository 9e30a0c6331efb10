/**
 * Domain errors carry a stable code and a kind; the transport filters map the kind to a status
 * in one place (HTTP status codes and socket error acks use the same numbers).
 */
export type ErrorKind = 'invalid' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable';

export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    /** Extra fields merged into the error body, e.g. `{ conversationId }`. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): number {
    return STATUS_OF_KIND[this.kind];
  }
}

export class NotFoundError extends DomainError {
  constructor(code: string, message: string) {
    super('not_found', code, message);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('conflict', code, message, details);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'Forbidden') {
    super('forbidden', 'Forbidden', message);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Unauthorized') {
    super('unauthorized', 'Unauthorized', message);
  }
}

export class InvalidError extends DomainError {
  constructor(message: string | string[]) {
    super('invalid', 'Invalid', Array.isArray(message) ? message.join('; ') : message);
  }
}

export const Errors = {
  noSuchAgent: () => new NotFoundError('NoSuchAgent', 'No such agent'),
  noSuchQueue: () => new NotFoundError('NoSuchQueue', 'No such queue'),
  noSuchConversation: () => new NotFoundError('NoSuchConversation', 'No such conversation'),
  noSuchPauseReason: () => new NotFoundError('NoSuchPauseReason', 'No such pause reason'),
  noAgentAvailable: () => new NotFoundError('NoAgentAvailable', 'No agent available'),
  agentNotLoggedIn: () => new ConflictError('AgentNotLoggedIn', 'Agent not logged in'),
  agentAlreadyInQueue: () => new ConflictError('QueueMemberExists', 'Agent already in queue'),
  agentNotInQueue: () => new ConflictError('QueueMemberMissing', 'Agent not in queue'),
  invalidCredentials: () => new UnauthorizedError('Invalid email or password'),
  emailTaken: () => new ConflictError('EmailTaken', 'Email already in use'),
  numberTaken: () => new ConflictError('NumberTaken', 'Number already in use'),
  /** `agentId`: the agent logged in on that device. */
  deviceInUse: (agentId?: number) => new ConflictError('DeviceInUse', 'Device in use by another agent', agentId ? { agentId } : undefined),
  pauseReasonExists: () => new ConflictError('PauseReasonExists', 'Pause reason already exists'),
  /** The offered agent acts on a conversation it has not accepted (API.md section 11): only accept or decline. */
  offerNotAccepted: () => new ConflictError('OfferNotAccepted', 'Offer not accepted'),
};

const HTTP_ERROR_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function httpErrorName(status: number): string {
  return HTTP_ERROR_NAMES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
}

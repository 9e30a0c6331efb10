import { DomainError } from '@cc/common';
import { ClientSocket } from './server-events';

/** `rate` tokens per second, at most `rate` saved up: a burst of `rate` at once, then `rate` a second. */
export class TokenBucket {
  private tokens: number;
  private at = Date.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const BUCKET = 'messageBucket';

/** MESSAGE_RATE_LIMIT per socket on `message.send` (0: off): takes one of the socket's tokens, or throws the 429. */
export function takeMessageToken(socket: ClientSocket, rate: number): void {
  if (rate === 0) return;
  const bucket = (socket.data[BUCKET] ??= new TokenBucket(rate)) as TokenBucket;
  if (!bucket.take()) throw new DomainError('rate_limited', 'RateLimited', `Too many messages: at most ${rate} per second`);
}

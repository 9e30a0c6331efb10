import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, DomainError } from '@cc/common';

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

  /** Refilled to the brim: the same as a fresh bucket, so it can be forgotten. */
  full(now = Date.now()): boolean {
    return this.tokens + ((now - this.at) / 1000) * this.rate >= this.rate;
  }
}

export function tooManyMessages(rate: number): DomainError {
  return new DomainError('rate_limited', 'RateLimited', `Too many messages: at most ${rate} per second`);
}

/**
 * MESSAGE_RATE_LIMIT per sender for HTTP sends (all of a sender's requests share one bucket;
 * sockets have one bucket each). Buckets that have refilled are dropped, so memory is bounded
 * by the senders of the last second or so, not by every sender ever seen.
 */
@Injectable()
export class SenderMessageRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweep = Date.now();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Throws 429 when `sender` is over the limit. */
  take(sender: string, now = Date.now()): void {
    const rate = this.config.messageRateLimit;
    if (rate === 0) return;
    if (now - this.lastSweep >= 1000) this.sweep(now);
    let bucket = this.buckets.get(sender);
    if (!bucket) this.buckets.set(sender, (bucket = new TokenBucket(rate)));
    if (!bucket.take(now)) throw tooManyMessages(rate);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [sender, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(sender);
  }
}

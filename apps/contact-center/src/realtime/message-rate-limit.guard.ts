import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { TokenBucket, tooManyMessages } from '../platform/message-rate-limit';
import { ClientSocket } from './server-events';

export { TokenBucket } from '../platform/message-rate-limit';

const BUCKET = 'messageBucket';

/** MESSAGE_RATE_LIMIT per socket on `message.send` (0: off); past it the send gets a 429 ack. */
@Injectable()
export class MessageRateLimitGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const rate = this.config.messageRateLimit;
    if (rate === 0) return true;
    const socket = context.switchToWs().getClient<ClientSocket>();
    const bucket = (socket.data[BUCKET] ??= new TokenBucket(rate)) as TokenBucket;
    if (!bucket.take()) throw tooManyMessages(rate);
    return true;
  }
}

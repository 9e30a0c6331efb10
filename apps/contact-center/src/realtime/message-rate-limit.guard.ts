import { TokenBucket, tooManyMessages } from '../platform/message-rate-limit';
import { ClientSocket } from './server-events';

const BUCKET = 'messageBucket';

/** MESSAGE_RATE_LIMIT per socket on `message.send` (0: off): takes one of the socket's tokens, or throws the 429. */
export function takeMessageToken(socket: ClientSocket, rate: number): void {
  if (rate === 0) return;
  const bucket = (socket.data[BUCKET] ??= new TokenBucket(rate)) as TokenBucket;
  if (!bucket.take()) throw tooManyMessages(rate);
}

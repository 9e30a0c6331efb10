import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { MessagesService } from '@cc/conversations';
import { MetricsService } from '../platform/metrics.service';
import { isPlainSendMessage } from './dto/send-message.schema';
import { SendMessagePayload } from './dto/socket.dto';
import { takeMessageToken } from './message-rate-limit.guard';
import { ClientSocket } from './server-events';
import { Ack, errorAck, socketValidationPipe } from './ws-ack';

const PAYLOAD_METADATA = { type: 'body', metatype: SendMessagePayload } as const;

/** Client events every participant gateway handles on a plain listener rather than `@SubscribeMessage`. */
export const PLAIN_LISTENER_EVENTS = ['message.send'] as const;

/**
 * `message.send`, the one hot client event, on a plain listener instead of Nest's per-event
 * pipeline (guards, pipes, interceptor, filter, rxjs: 150–200 µs per message). The contract is
 * the decorated handlers' (`@SocketAcks`): the same rate limit (MESSAGE_RATE_LIMIT per socket,
 * 429), the same validation with the same messages (a payload the compiled schema does not
 * certainly accept goes through the same ValidationPipe and DTO), every outcome answered with
 * an ack, and the ack latency recorded.
 */
@Injectable()
export class MessageSendHandler {
  private readonly pipe = socketValidationPipe();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly messages: MessagesService,
    private readonly metrics: MetricsService,
  ) {}

  attach(socket: ClientSocket): void {
    socket.on(PLAIN_LISTENER_EVENTS[0], (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (answer: Ack) => void) : undefined;
      void this.handle(socket, args[0]).then((answer) => ack?.(answer));
    });
  }

  async handle(socket: ClientSocket, payload: unknown): Promise<Ack> {
    const stop = this.metrics.ackLatency.startTimer({ event: 'message.send' });
    try {
      takeMessageToken(socket, this.config.messageRateLimit);
      const { conversationId, text, clientMessageId } = isPlainSendMessage(payload)
        ? payload
        : ((await this.pipe.transform(payload, PAYLOAD_METADATA)) as SendMessagePayload);
      // The sending socket has the message in this ack: it is left out of the push (its other tabs get it).
      const { message } = await this.messages.send(socket.data.user, conversationId, { text, clientMessageId }, socket.id);
      return { ok: true, data: message };
    } catch (exception) {
      return errorAck(exception);
    } finally {
      stop();
    }
  }
}

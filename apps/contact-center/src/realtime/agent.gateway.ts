import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { ConversationsService, MessagesService } from '@cc/conversations';
import { OffersService } from '@cc/allocation';
import { OfferPayload } from './dto/socket.dto';
import { MessageSendHandler } from './message-send';
import { PARTICIPANT_EVENTS, ParticipantGateway } from './participant.gateway';
import { ClientSocket } from './server-events';
import { SocketConnections } from './socket-connections';
import { TypingRelay } from './typing-relay';

/** `/agent`: agent consoles and admins (who also join the `admins` room). */
@WebSocketGateway({ namespace: '/agent', cors: { origin: true } })
export class AgentGateway extends ParticipantGateway {
  protected readonly namespace = '/agent';
  protected readonly roles = ['agent', 'admin'] as const;
  protected readonly events = [...PARTICIPANT_EVENTS, 'offer.accept', 'offer.decline'] as const;

  constructor(
    connections: SocketConnections,
    conversations: ConversationsService,
    messages: MessagesService,
    typingRelay: TypingRelay,
    sendHandler: MessageSendHandler,
    private readonly offers: OffersService,
  ) {
    super(connections, conversations, messages, typingRelay, sendHandler);
  }

  @SubscribeMessage('offer.accept')
  accept(@ConnectedSocket() socket: ClientSocket, @MessageBody() { conversationId }: OfferPayload) {
    return this.offers.accept(socket.data.user, conversationId);
  }

  @SubscribeMessage('offer.decline')
  decline(@ConnectedSocket() socket: ClientSocket, @MessageBody() { conversationId }: OfferPayload) {
    return this.offers.decline(socket.data.user, conversationId);
  }
}

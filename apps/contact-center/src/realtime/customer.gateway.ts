import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { RoutingService } from '@cc/allocation';
import { ConversationsService, MessagesService } from '@cc/conversations';
import { StartConversationPayload } from './dto/socket.dto';
import { PARTICIPANT_EVENTS, ParticipantGateway } from './participant.gateway';
import { MessageSendHandler } from './message-send';
import { ClientSocket } from './server-events';
import { SocketConnections } from './socket-connections';
import { TypingRelay } from './typing-relay';

/** `/customer`: chat widgets and channel connectors, with a customer token. */
@WebSocketGateway({ namespace: '/customer', cors: { origin: true } })
export class CustomerGateway extends ParticipantGateway {
  protected readonly namespace = '/customer';
  protected readonly roles = ['customer'] as const;
  protected readonly events = [...PARTICIPANT_EVENTS, 'conversation.start'];

  constructor(
    connections: SocketConnections,
    conversations: ConversationsService,
    messages: MessagesService,
    typingRelay: TypingRelay,
    sendHandler: MessageSendHandler,
    private readonly routing: RoutingService,
  ) {
    super(connections, conversations, messages, typingRelay, sendHandler);
  }

  @SubscribeMessage('conversation.start')
  start(@ConnectedSocket() socket: ClientSocket, @MessageBody() payload: StartConversationPayload) {
    return this.routing.start(socket.data.user, payload);
  }
}

import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { StartConversationPayload } from './dto/socket.dto';
import { PARTICIPANT_EVENTS, ParticipantGateway } from './participant.gateway';
import { ClientSocket } from './server-events';

/** `/customer`: chat widgets and channel connectors, with a customer token. */
@WebSocketGateway({ namespace: '/customer', cors: { origin: true } })
export class CustomerGateway extends ParticipantGateway {
  protected readonly namespace = '/customer';
  protected readonly roles = ['customer'] as const;
  protected readonly events = [...PARTICIPANT_EVENTS, 'conversation.start'];

  @SubscribeMessage('conversation.start')
  start(@ConnectedSocket() socket: ClientSocket, @MessageBody() payload: StartConversationPayload) {
    return this.conversations.start(socket.data.user, payload);
  }
}

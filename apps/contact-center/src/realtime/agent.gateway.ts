import { WebSocketGateway } from '@nestjs/websockets';
import { PARTICIPANT_EVENTS, ParticipantGateway } from './participant.gateway';

/** `/agent`: agent consoles and admins (who also join the `admins` room). */
@WebSocketGateway({ namespace: '/agent', cors: { origin: true } })
export class AgentGateway extends ParticipantGateway {
  protected readonly namespace = '/agent';
  protected readonly roles = ['agent', 'admin'] as const;
  protected readonly events = PARTICIPANT_EVENTS;
}

import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, SubscribeMessage } from '@nestjs/websockets';
import { Namespace } from 'socket.io';
import { Role } from '@cc/common';
import { ConversationsService, MessagesService } from '@cc/conversations';
import { ResolveConversationPayload, SyncMessagesPayload, TypingPayload } from './dto/socket.dto';
import { MessageSendHandler } from './message-send';
import { ClientSocket, SocketNamespace } from './server-events';
import { SocketConnections } from './socket-connections';
import { TypingRelay } from './typing-relay';
import { SocketAcks } from './ws-ack';

/** The client events both sides of a conversation send. */
export const PARTICIPANT_EVENTS = ['message.send', 'messages.sync', 'conversation.resolve', 'typing'] as const;

/**
 * What the agent and customer gateways share: connection lifecycle and the conversation events,
 * validated and acknowledged the same way (`@SocketAcks`, inherited by both).
 */
@SocketAcks()
export abstract class ParticipantGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  protected abstract readonly namespace: SocketNamespace;
  protected abstract readonly roles: readonly Role[];
  protected abstract readonly events: readonly string[];

  constructor(
    protected readonly connections: SocketConnections,
    protected readonly conversations: ConversationsService,
    protected readonly messages: MessagesService,
    protected readonly typingRelay: TypingRelay,
    protected readonly sendHandler: MessageSendHandler,
  ) {}

  afterInit(nsp: Namespace): void {
    this.connections.init(nsp, this.roles);
  }

  handleConnection(socket: ClientSocket): Promise<void> {
    // `message.send` has its own lean listener (see MessageSendHandler), bound before any event can arrive.
    this.sendHandler.attach(socket);
    return this.connections.connected(socket, this.namespace, this.events);
  }

  handleDisconnect(socket: ClientSocket): void {
    this.connections.disconnected(socket, this.namespace);
  }

  @SubscribeMessage('messages.sync')
  sync(@ConnectedSocket() socket: ClientSocket, @MessageBody() { conversationId, afterId }: SyncMessagesPayload) {
    return this.messages.after(socket.data.user, conversationId, afterId);
  }

  @SubscribeMessage('conversation.resolve')
  resolve(@ConnectedSocket() socket: ClientSocket, @MessageBody() { conversationId, ...body }: ResolveConversationPayload) {
    return this.conversations.resolve(socket.data.user, conversationId, body);
  }

  @SubscribeMessage('typing')
  typing(@ConnectedSocket() socket: ClientSocket, @MessageBody() payload: TypingPayload) {
    return this.typingRelay.relay(socket, payload);
  }
}

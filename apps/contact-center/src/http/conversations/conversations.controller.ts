import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiPage } from '@cc/common';
import { AllocationDecision, Conversation, Customer, Message, MessageHistory } from '../../api-docs/schemas.dto';
import { ParseIdPipe } from '../parse-id';
import { HttpMessageRateLimitGuard } from './http-message-rate-limit.guard';
import { Response } from 'express';
import { Auth, AuthService, AuthUser, CurrentUser } from '@cc/auth';
import {
  AssignConversationDto,
  ConversationsService,
  ListConversationsQuery,
  MessageHistoryQuery,
  MessagesService,
  ResolveConversationDto,
  SendMessageDto,
  StartConversationDto,
  TransferConversationDto,
} from '@cc/conversations';
import { AllocationDecisionsService, OffersService, RoutingService } from '@cc/allocation';

@ApiTags('conversations')
@Controller('conversations')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly routing: RoutingService,
    private readonly decisions: AllocationDecisionsService,
    private readonly offers: OffersService,
    private readonly auth: AuthService,
  ) {}

  @Post()
  @Auth('customer')
  @ApiOperation({
    summary: 'Start a conversation (customer)',
    description:
      'Allocated before the answer when an agent has a free slot (`status: active`), else it waits (`queued` with `position`) or overflows, per its queue. ' +
      '`text` is stored as the first customer message.',
  })
  @ApiBody({ type: StartConversationDto, examples: { web: { value: { channel: 'web', text: 'Hello, I need help with my order' } } } })
  @ApiResponse({ status: 201, type: Conversation })
  @ApiErrors({ 404: 'No such queue', 409: 'Customer already has an open conversation (`conversationId` names it)' })
  start(@CurrentUser() user: AuthUser, @Body() dto: StartConversationDto) {
    return this.routing.start(user, dto);
  }

  @Get()
  @Auth()
  @ApiOperation({ summary: 'List conversations', description: 'An agent sees its own, a customer its own, an admin all.' })
  @ApiPage(Conversation)
  @ApiErrors({ 403: 'Agents see only their own conversations (`agentId` of another)' })
  list(@CurrentUser() user: AuthUser, @Query() query: ListConversationsQuery) {
    return this.conversations.list(user, query);
  }

  @Get(':id')
  @Auth()
  @ApiOperation({ summary: 'Read a conversation', description: 'Participants and admins only.' })
  @ApiResponse({ status: 200, type: Conversation })
  @ApiErrors({ 403: 'Not a participant of this conversation', 404: 'No such conversation' })
  get(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.conversations.get(user, id);
  }

  @Get(':id/customer')
  @Auth()
  @ApiOperation({ summary: "Read a conversation's customer", description: 'An extension of the contract, for consoles that show who they talk to: participants and admins only.' })
  @ApiResponse({ status: 200, type: Customer })
  @ApiErrors({ 403: 'Not a participant of this conversation', 404: 'No such conversation' })
  async customer(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    const conversation = await this.conversations.get(user, id);
    return this.auth.customer(conversation.customerId);
  }

  /** 201 when stored, 200 when the same clientMessageId was already stored (the stored message). */
  @Post(':id/messages')
  @UseGuards(HttpMessageRateLimitGuard) // above @Auth: runs after it, with the user known
  @Auth()
  @ApiOperation({
    summary: 'Send a message',
    description: 'A customer may write while queued. The same `clientMessageId` from the same sender again answers 200 with the stored message, never a duplicate.',
  })
  @ApiBody({ type: SendMessageDto, examples: { text: { value: { text: 'Hello!', clientMessageId: '8f14e45f-ceea-4e7a-9f5e-3a1c2b7d9e01' } } } })
  @ApiResponse({ status: 201, type: Message, description: 'Stored' })
  @ApiResponse({ status: 200, type: Message, description: 'Already stored with this clientMessageId: the stored message' })
  @ApiErrors({ 403: 'Not a participant of this conversation', 404: 'No such conversation', 409: 'Conversation is resolved, or Offer not accepted (the offered agent, before accepting)' })
  async send(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: SendMessageDto, @Res({ passthrough: true }) res: Response) {
    const { message, created } = await this.messages.send(user, id, dto);
    res.status(created ? 201 : 200);
    return message;
  }

  @Get(':id/messages')
  @Auth()
  @ApiOperation({
    summary: 'Message history',
    description: '`after=<id>`: the messages after that id; `before=<id>`: the `limit` messages just before it; both oldest first. `meta.hasMore` says whether more exist that way.',
  })
  @ApiResponse({ status: 200, type: MessageHistory })
  @ApiErrors({ 403: 'Not a participant of this conversation', 404: 'No such conversation' })
  history(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Query() query: MessageHistoryQuery) {
    return this.messages.history(user, id, query);
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @Auth()
  @ApiOperation({ summary: 'Resolve a conversation', description: 'Its agent, its customer or an admin. The agent that resolves enters wrap-up for its `wrapUpSeconds`.' })
  @ApiBody({ type: ResolveConversationDto, examples: { notes: { value: { notes: 'Refund issued' } } } })
  @ApiResponse({ status: 200, type: Conversation })
  @ApiErrors({ 403: 'Not a participant of this conversation', 404: 'No such conversation', 409: 'Conversation already resolved, or Offer not accepted (the offered agent, before accepting)' })
  resolve(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: ResolveConversationDto) {
    return this.conversations.resolve(user, id, dto);
  }

  @Post(':id/transfer')
  @HttpCode(200)
  @Auth('agent', 'admin')
  @ApiOperation({
    summary: 'Transfer a conversation to an agent or a queue',
    description: 'Exactly one of `agentId` (allowed beyond capacity) or `queueId` (waits again there and is allocated at once). Its agent or an admin.',
  })
  @ApiBody({ type: TransferConversationDto, examples: { toAgent: { value: { agentId: 2 } }, toQueue: { value: { queueId: 3 } } } })
  @ApiResponse({ status: 200, type: Conversation })
  @ApiErrors({
    403: 'Only its agent or an admin may transfer a conversation',
    404: 'No such conversation, No such agent or No such queue',
    409: 'Conversation already resolved, already with this agent, or Offer not accepted (the offered agent, before accepting)',
  })
  transfer(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: TransferConversationDto) {
    return this.routing.transfer(user, id, dto);
  }

  @Post(':id/accept')
  @HttpCode(200)
  @Auth('agent', 'admin')
  @ApiOperation({
    summary: 'Accept the offer of this conversation (the offered agent)',
    description: 'The conversation becomes `active`; `conversation.assigned` follows as for any assignment (API.md section 11).',
  })
  @ApiResponse({ status: 200, type: Conversation })
  @ApiErrors({ 403: 'Customers cannot accept offers', 404: 'No such conversation', 409: 'No offer: the conversation is not offered to the caller (expired, declined, taken, or never offered)' })
  accept(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.offers.accept(user, id);
  }

  @Post(':id/decline')
  @HttpCode(200)
  @Auth('agent', 'admin')
  @ApiOperation({
    summary: 'Decline the offer of this conversation (the offered agent)',
    description: 'The conversation waits again at the front of its line and is offered at once to the next eligible agent (API.md section 11).',
  })
  @ApiResponse({ status: 200, type: Conversation })
  @ApiErrors({ 403: 'Customers cannot decline offers', 404: 'No such conversation', 409: 'No offer: the conversation is not offered to the caller' })
  decline(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.offers.decline(user, id);
  }

  @Post(':id/assign')
  @HttpCode(200)
  @Auth('admin')
  @ApiOperation({ summary: 'Assign a conversation to an agent by hand', description: 'Allowed beyond the agent\'s capacity.' })
  @ApiBody({ type: AssignConversationDto, examples: { agent: { value: { agentId: 2 } } } })
  @ApiResponse({ status: 200, type: Conversation })
  @ApiErrors({ 404: 'No such conversation, or No such agent', 409: 'Conversation already resolved' })
  assign(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: AssignConversationDto) {
    return this.routing.assign(user, id, dto);
  }

  @Get(':id/allocations')
  @Auth('agent', 'admin')
  @ApiOperation({ summary: 'The allocation decisions taken for a conversation', description: 'Oldest first: why this agent, and why not the others. An admin, or the conversation\'s agent.' })
  @ApiResponse({ status: 200, type: [AllocationDecision] })
  @ApiErrors({ 404: 'No such conversation' })
  allocations(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.decisions.decisions(user, id);
  }
}

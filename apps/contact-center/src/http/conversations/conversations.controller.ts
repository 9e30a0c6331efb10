import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiConflictResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ParseIdPipe } from '../parse-id';
import { Response } from 'express';
import { Auth, AuthUser, CurrentUser } from '@cc/auth';
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
  ) {}

  @Post()
  @Auth('customer')
  start(@CurrentUser() user: AuthUser, @Body() dto: StartConversationDto) {
    return this.routing.start(user, dto);
  }

  @Get()
  @Auth()
  list(@CurrentUser() user: AuthUser, @Query() query: ListConversationsQuery) {
    return this.conversations.list(user, query);
  }

  @Get(':id')
  @Auth()
  get(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.conversations.get(user, id);
  }

  /** 201 when stored, 200 when the same clientMessageId was already stored (the stored message). */
  @Post(':id/messages')
  @Auth()
  async send(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: SendMessageDto, @Res({ passthrough: true }) res: Response) {
    const { message, created } = await this.messages.send(user, id, dto);
    res.status(created ? 201 : 200);
    return message;
  }

  @Get(':id/messages')
  @Auth()
  history(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Query() query: MessageHistoryQuery) {
    return this.messages.history(user, id, query);
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @Auth()
  resolve(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: ResolveConversationDto) {
    return this.conversations.resolve(user, id, dto);
  }

  @Post(':id/transfer')
  @HttpCode(200)
  @Auth('agent', 'admin')
  transfer(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number, @Body() dto: TransferConversationDto) {
    return this.routing.transfer(user, id, dto);
  }

  @Post(':id/accept')
  @HttpCode(200)
  @Auth('agent', 'admin')
  @ApiOperation({ summary: 'Accept the offer of this conversation (the offered agent): it becomes active' })
  @ApiOkResponse({ description: 'The conversation, now active', schema: { type: 'object' } })
  @ApiForbiddenResponse({ description: 'Customers cannot accept offers' })
  @ApiNotFoundResponse({ description: 'No such conversation' })
  @ApiConflictResponse({ description: '"No offer": the conversation is not offered to the caller (expired, declined, taken, or never offered)' })
  accept(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.offers.accept(user, id);
  }

  @Post(':id/decline')
  @HttpCode(200)
  @Auth('agent', 'admin')
  @ApiOperation({ summary: 'Decline the offer of this conversation (the offered agent): it goes to the next eligible agent' })
  @ApiOkResponse({ description: 'The conversation, waiting again at the front of its line', schema: { type: 'object' } })
  @ApiForbiddenResponse({ description: 'Customers cannot decline offers' })
  @ApiNotFoundResponse({ description: 'No such conversation' })
  @ApiConflictResponse({ description: '"No offer": the conversation is not offered to the caller' })
  decline(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.offers.decline(user, id);
  }

  @Post(':id/assign')
  @HttpCode(200)
  @Auth('admin')
  assign(@Param('id', ParseIdPipe) id: number, @Body() dto: AssignConversationDto) {
    return this.routing.assign(id, dto);
  }

  @Get(':id/allocations')
  @Auth('agent', 'admin')
  allocations(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    return this.decisions.decisions(user, id);
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
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
import { AllocationDecisionsService, RoutingService } from '@cc/allocation';

@ApiTags('conversations')
@Controller('conversations')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly routing: RoutingService,
    private readonly decisions: AllocationDecisionsService,
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

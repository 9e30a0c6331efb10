import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ParseIdPipe } from '../parse-id';
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
import { AllocationDecisionsService, RoutingService } from '@cc/allocation';

/** `GET /conversations/:id/customer` (an extension of API.md section 7). */
class ConversationCustomerResponse {
  @ApiProperty() id: number;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty({ type: String, nullable: true }) externalId: string | null;
}

@ApiTags('conversations')
@Controller('conversations')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly routing: RoutingService,
    private readonly decisions: AllocationDecisionsService,
    private readonly auth: AuthService,
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

  @Get(':id/customer')
  @Auth()
  @ApiOperation({ summary: "The conversation's customer (id, name, email, externalId): for its participants and admins" })
  @ApiOkResponse({ type: ConversationCustomerResponse })
  @ApiUnauthorizedResponse({ description: 'No or bad token' })
  @ApiForbiddenResponse({ description: 'Not a participant of this conversation' })
  @ApiNotFoundResponse({ description: 'No such conversation' })
  async customer(@CurrentUser() user: AuthUser, @Param('id', ParseIdPipe) id: number) {
    const conversation = await this.conversations.get(user, id);
    return this.auth.customer(conversation.customerId);
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

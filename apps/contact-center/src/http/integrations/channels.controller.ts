import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Response } from 'express';
import { Auth, AuthUser, ConnectorAllowed, CurrentUser } from '@cc/auth';
import { ChannelInboundService, InboundMessageDto, InboundResultView } from '@cc/integrations';

@ApiTags('integrations')
@Controller('channels')
export class ChannelsController {
  constructor(private readonly inbound: ChannelInboundService) {}

  @Post(':channel/inbound')
  @Auth('admin')
  @ConnectorAllowed()
  @ApiOperation({ summary: "A channel connector's inbound customer message (idempotent by externalMessageId)" })
  @ApiCreatedResponse({ type: InboundResultView, description: 'Stored' })
  @ApiOkResponse({ type: InboundResultView, description: 'This externalMessageId was already stored: the same message' })
  @ApiBadRequestResponse({ description: 'Invalid channel or body' })
  @ApiUnauthorizedResponse({ description: 'No or bad token or key' })
  @ApiForbiddenResponse({ description: 'Neither an admin nor a connector' })
  async receive(@CurrentUser() user: AuthUser, @Param('channel') channel: string, @Body() dto: InboundMessageDto, @Res({ passthrough: true }) res: Response) {
    const { created, ...result } = await this.inbound.receive(user, channel, dto);
    res.status(created ? 201 : 200);
    return result;
  }
}

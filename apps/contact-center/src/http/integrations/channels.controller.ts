import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { ApiErrors } from '@cc/common';
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
  @ApiErrors({ 400: 'Invalid channel or body' })
  @ApiErrors({ 401: 'No or bad token or key' })
  @ApiErrors({ 403: 'Neither an admin nor a connector' })
  @ApiErrors({ 404: 'No queue serves the channel and there is no default queue' })
  async receive(@CurrentUser() user: AuthUser, @Param('channel') channel: string, @Body() dto: InboundMessageDto, @Res({ passthrough: true }) res: Response) {
    const { created, ...result } = await this.inbound.receive(user, channel, dto);
    res.status(created ? 201 : 200);
    return result;
  }
}

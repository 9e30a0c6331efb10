import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Auth } from '@cc/auth';
import { PaginationQuery } from '@cc/common';
import { CreateWebhookDto, DeliveriesQuery, DeliveryView, UpdateWebhookDto, WebhooksService, WebhookView } from '@cc/integrations';
import { ParseIdPipe } from '../parse-id';
import { PageOf } from './pages';

@ApiTags('integrations')
@ApiUnauthorizedResponse({ description: 'No or bad token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Controller('webhooks')
@Auth('admin')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'Subscribe a URL to events (a random secret when none is given)' })
  @ApiCreatedResponse({ type: WebhookView })
  @ApiBadRequestResponse({ description: 'Invalid url, events, channels or secret' })
  create(@Body() dto: CreateWebhookDto) {
    return this.webhooks.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List event webhooks' })
  @ApiOkResponse({ type: PageOf(WebhookView) })
  list(@Query() query: PaginationQuery) {
    return this.webhooks.list(query.page, query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read an event webhook' })
  @ApiOkResponse({ type: WebhookView })
  @ApiNotFoundResponse({ description: 'No such webhook' })
  get(@Param('id', ParseIdPipe) id: number) {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an event webhook (url, events, channels, active)' })
  @ApiOkResponse({ type: WebhookView })
  @ApiBadRequestResponse({ description: 'Invalid field' })
  @ApiNotFoundResponse({ description: 'No such webhook' })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateWebhookDto) {
    return this.webhooks.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an event webhook and its deliveries' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'No such webhook' })
  delete(@Param('id', ParseIdPipe) id: number) {
    return this.webhooks.delete(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "List a webhook's deliveries, newest first" })
  @ApiOkResponse({ type: PageOf(DeliveryView) })
  @ApiNotFoundResponse({ description: 'No such webhook' })
  deliveries(@Param('id', ParseIdPipe) id: number, @Query() query: DeliveriesQuery) {
    return this.webhooks.deliveries(id, query);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Try a failed or pending delivery again at once' })
  @ApiAcceptedResponse({ description: 'Queued for an attempt now' })
  @ApiNotFoundResponse({ description: 'No such webhook or delivery' })
  @ApiConflictResponse({ description: 'Already delivered' })
  async retry(@Param('id', ParseIdPipe) id: number, @Param('deliveryId', ParseIdPipe) deliveryId: number) {
    await this.webhooks.retry(id, deliveryId);
    return {};
  }
}

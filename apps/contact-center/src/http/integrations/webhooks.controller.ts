import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth } from '@cc/auth';
import { ApiErrors, ApiPage, PaginationQuery } from '@cc/common';
import { CreateWebhookDto, DeliveriesQuery, DeliveryView, UpdateWebhookDto, WebhooksService, WebhookView } from '@cc/integrations';
import { ParseIdPipe } from '../parse-id';

@ApiTags('integrations')
@ApiErrors({ 401: true, 403: 'Not an admin (or a connector key)' })
@Controller('webhooks')
@Auth('admin')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'Subscribe a URL to events (a random secret when none is given)' })
  @ApiCreatedResponse({ type: WebhookView })
  @ApiErrors({ 400: 'Invalid url, events, channels or secret' })
  create(@Body() dto: CreateWebhookDto) {
    return this.webhooks.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List event webhooks' })
  @ApiPage(WebhookView)
  list(@Query() query: PaginationQuery) {
    return this.webhooks.list(query.page, query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read an event webhook' })
  @ApiOkResponse({ type: WebhookView })
  @ApiErrors({ 404: 'No such webhook' })
  get(@Param('id', ParseIdPipe) id: number) {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an event webhook (url, events, channels, active)' })
  @ApiOkResponse({ type: WebhookView })
  @ApiErrors({ 400: 'Invalid field' })
  @ApiErrors({ 404: 'No such webhook' })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateWebhookDto) {
    return this.webhooks.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an event webhook and its deliveries' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors({ 404: 'No such webhook' })
  delete(@Param('id', ParseIdPipe) id: number) {
    return this.webhooks.delete(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "List a webhook's deliveries, newest first" })
  @ApiPage(DeliveryView)
  @ApiErrors({ 404: 'No such webhook' })
  deliveries(@Param('id', ParseIdPipe) id: number, @Query() query: DeliveriesQuery) {
    return this.webhooks.deliveries(id, query);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Try a failed or pending delivery again at once' })
  @ApiAcceptedResponse({ description: 'Queued for an attempt now', schema: { type: 'object', example: {} } })
  @ApiErrors({ 404: 'No such webhook or delivery' })
  @ApiErrors({ 409: 'Already delivered' })
  async retry(@Param('id', ParseIdPipe) id: number, @Param('deliveryId', ParseIdPipe) deliveryId: number) {
    await this.webhooks.retry(id, deliveryId);
    return {};
  }
}

import { Module } from '@nestjs/common';
import { AllocationModule } from '@cc/allocation';
import { ConversationsModule } from '@cc/conversations';
import { ChannelInboundService } from './channel-inbound.service';
import { ChannelsRepository } from './channels.repository';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [ConversationsModule, AllocationModule],
  providers: [WebhooksRepository, WebhooksService, WebhookDispatcher, ChannelsRepository, ChannelInboundService],
  exports: [WebhooksService, WebhookDispatcher, ChannelInboundService],
})
export class IntegrationsModule {}

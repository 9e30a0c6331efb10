import { Module } from '@nestjs/common';
import { IntegrationsModule } from '@cc/integrations';
import { ApiKeysController } from './api-keys.controller';
import { ChannelsController } from './channels.controller';
import { WebhooksController } from './webhooks.controller';

@Module({ imports: [IntegrationsModule], controllers: [ApiKeysController, WebhooksController, ChannelsController] })
export class IntegrationsHttpModule {}

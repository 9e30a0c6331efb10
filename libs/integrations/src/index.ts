export * from './channel.dto';
export * from './channel-inbound.service';
export * from './integrations.module';
export * from './retry-schedule';
export * from './signature';
export * from './webhook.dto';
export * from './webhook-dispatcher';
export * from './webhooks.service';

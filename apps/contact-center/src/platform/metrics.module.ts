import { Global, Module } from '@nestjs/common';
import { ConversationsModule } from '@cc/conversations';
import { MetricsService } from './metrics.service';

@Global()
@Module({ imports: [ConversationsModule], providers: [MetricsService], exports: [MetricsService] })
export class PlatformMetricsModule {}

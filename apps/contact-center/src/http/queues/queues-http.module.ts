import { Module } from '@nestjs/common';
import { QueuesModule } from '@cc/queues';
import { QueuesController } from './queues.controller';

@Module({ imports: [QueuesModule], controllers: [QueuesController] })
export class QueuesHttpModule {}

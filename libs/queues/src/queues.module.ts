import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Queue } from './queue.entity';
import { QueueMember } from './queue-member.entity';
import { QueuesService } from './queues.service';

@Module({ imports: [TypeOrmModule.forFeature([Queue, QueueMember])], providers: [QueuesService], exports: [QueuesService] })
export class QueuesModule {}

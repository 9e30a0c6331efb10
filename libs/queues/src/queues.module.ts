import { Module } from '@nestjs/common';
import { QueuesRepository } from './queues.repository';
import { QueuesService } from './queues.service';

/** Owns the tables queues and queue_members. */
@Module({ providers: [QueuesRepository, QueuesService], exports: [QueuesService] })
export class QueuesModule {}

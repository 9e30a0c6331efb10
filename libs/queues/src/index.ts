export * from './queue.entity';
export * from './queue-member.entity';
export * from './queue.dto';
export * from './queues.service';
export * from './queues.module';
export * from './queues.repository';

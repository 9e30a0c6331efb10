import { CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity('queue_members')
export class QueueMember {
  @PrimaryColumn({ name: 'queue_id' }) queueId: number;
  @PrimaryColumn({ name: 'agent_id' }) agentId: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

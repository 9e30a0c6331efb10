import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { ConversationStatus } from '@cc/common';

@Entity('conversations')
export class Conversation {
  @PrimaryGeneratedColumn() id: number;
  @Column({ name: 'customer_id' }) customerId: number;
  @Column({ name: 'agent_id', type: 'int', nullable: true }) agentId: number | null;
  @Column({ name: 'queue_id' }) queueId: number;
  @Column() channel: string;
  @Column({ type: 'varchar' }) status: ConversationStatus;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
  /** When the conversation joined the waiting line (NULL before); kept when it is requeued so it keeps its place. */
  @Column({ name: 'waiting_since', type: 'timestamptz', nullable: true }) waitingSince: Date | null;
  @Column({ name: 'assigned_at', type: 'timestamptz', nullable: true }) assignedAt: Date | null;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt: Date | null;
  @Column({ name: 'resolved_by', type: 'varchar', nullable: true }) resolvedBy: string | null;
  @Column({ type: 'text', nullable: true }) notes: string | null;
}

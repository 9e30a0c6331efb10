import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { QueueOverflow, QueueStrategy } from '@cc/protocol';

export type { QueueOverflow, QueueStrategy } from '@cc/protocol';
export const QUEUE_STRATEGIES: QueueStrategy[] = ['least-busy', 'longest-idle', 'round-robin'];
export const QUEUE_OVERFLOWS: QueueOverflow[] = ['wait', 'overflow-online', 'overflow-any'];

@Entity('queues')
export class Queue {
  @PrimaryGeneratedColumn() id: number;
  @Column() name: string;
  @Column({ type: 'varchar', default: 'least-busy' }) strategy: QueueStrategy;
  @Column({ type: 'varchar', default: 'wait' }) overflow: QueueOverflow;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) channels: string[];
  @Column({ default: 0 }) priority: number;
  @Column({ name: 'webhook_url', type: 'text', nullable: true }) webhookUrl: string | null;
  @Column({ name: 'webhook_timeout_ms', default: 3000 }) webhookTimeoutMs: number;
  /** > 0: automatic allocation offers, and the agent has this long to accept (API.md section 11). */
  @Column({ name: 'offer_timeout_seconds', default: 0 }) offerTimeoutSeconds: number;
  @Column({ name: 'pause_on_missed_offer', default: true }) pauseOnMissedOffer: boolean;
  @Column({ name: 'sla_seconds', default: 60 }) slaSeconds: number;
  @Column({ name: 'last_assigned_agent_id', type: 'int', nullable: true }) lastAssignedAgentId: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

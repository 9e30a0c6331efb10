import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { RoutingType } from '@cc/protocol';

export type { RoutingType } from '@cc/protocol';

@Entity('agents')
export class Agent {
  @PrimaryGeneratedColumn() id: number;
  @Column() email: string;
  @Column() name: string;
  @Column({ name: 'password_hash', select: false }) passwordHash: string;
  @Column({ type: 'varchar', nullable: true }) number: string | null;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) skills: string[];
  @Column({ name: 'max_concurrent', default: 2 }) maxConcurrent: number;
  /** Per-channel caps on offered + active conversations, `{ "<channel>": n }` (API.md section 12). */
  @Column({ name: 'channel_capacity', type: 'jsonb', default: () => "'{}'" }) channelCapacity: Record<string, number>;
  @Column({ name: 'wrap_up_seconds', default: 0 }) wrapUpSeconds: number;
  @Column({ name: 'manual_status', type: 'varchar', nullable: true }) manualStatus: string | null;
  @Column({ name: 'routing_type', type: 'varchar', default: 'app' }) routingType: RoutingType;
  @Column({ name: 'phone_number', type: 'varchar', nullable: true }) phoneNumber: string | null;
  @Column({ name: 'token_version', default: 0 }) tokenVersion: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The explicit presence state of one agent; `state` is derived from it (see presence-state.ts). */
@Entity('agent_presence')
export class AgentPresence {
  @PrimaryColumn({ name: 'agent_id' }) agentId: number;
  @Column({ default: false }) logged: boolean;
  @Column({ type: 'varchar', nullable: true }) extension: string | null;
  @Column({ type: 'varchar', nullable: true }) context: string | null;
  @Column({ default: false }) paused: boolean;
  @Column({ name: 'pause_reason_id', type: 'int', nullable: true }) pauseReasonId: number | null;
  @Column({ name: 'wrap_up_until', type: 'timestamptz', nullable: true }) wrapUpUntil: Date | null;
  @Column({ name: 'logged_at', type: 'timestamptz', nullable: true }) loggedAt: Date | null;
  @Column({ name: 'last_assigned_at', type: 'timestamptz', nullable: true }) lastAssignedAt: Date | null;
  /** A socket of this agent connected since its login (the grace rule applies only then). */
  @Column({ name: 'socket_seen', default: false }) socketSeen: boolean;
  /** Since when no socket of this agent is connected on any instance. */
  @Column({ name: 'disconnected_since', type: 'timestamptz', nullable: true }) disconnectedSince: Date | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('agent_state_history')
export class AgentStateHistory {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'agent_id' }) agentId: number;
  @Column({ name: 'from_state' }) fromState: string;
  @Column({ name: 'to_state' }) toState: string;
  @Column() reason: string;
  @Column({ type: 'timestamptz', default: () => 'now()' }) at: Date;
}

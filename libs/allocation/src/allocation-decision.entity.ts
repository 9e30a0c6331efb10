import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export interface CandidateVerdict {
  agentId: number;
  eligible: boolean;
  reason: string;
  active: number;
  maxConcurrent: number;
}

export type AllocationOutcome = 'assigned' | 'queued' | 'overflow' | 'webhook' | 'webhook-fallback' | 'manual' | 'transfer';

@Entity('allocation_decisions')
export class AllocationDecision {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'conversation_id' }) conversationId: number;
  @Column({ type: 'timestamptz', default: () => 'now()' }) at: Date;
  @Column() trigger: string;
  @Column() strategy: string;
  @Column({ type: 'jsonb' }) candidates: CandidateVerdict[];
  @Column({ type: 'varchar' }) outcome: AllocationOutcome;
  @Column({ name: 'agent_id', type: 'int', nullable: true }) agentId: number | null;
}

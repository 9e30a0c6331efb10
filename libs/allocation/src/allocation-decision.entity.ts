import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export interface CandidateVerdict {
  agentId: number;
  eligible: boolean;
  reason: string;
  active: number;
  maxConcurrent: number;
}

export type AllocationOutcome =
  | 'assigned'
  | 'queued'
  | 'overflow'
  | 'webhook'
  | 'webhook-fallback'
  | 'manual'
  | 'transfer'
  // Offers (API.md section 11): `agentId` is the agent the offer was made to.
  | 'offered'
  | 'accepted'
  | 'declined'
  | 'offer-expired'
  | 'offer-revoked';

/** The outcomes that end an offer unaccepted: a report counts `declined` and `offer-expired` as missed offers. */
export type OfferEndOutcome = 'declined' | 'offer-expired' | 'offer-revoked';

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

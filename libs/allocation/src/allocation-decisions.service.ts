import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Access, Errors, Principal } from '@cc/common';
import { ConversationsRepository } from '@cc/conversations';
import { AllocationOutcome, CandidateVerdict } from './allocation-decision.entity';
import { AllocationRepository } from './allocation.repository';

export interface AllocationDecisionView {
  at: string;
  trigger: string;
  strategy: string;
  candidates: CandidateVerdict[];
  outcome: AllocationOutcome;
  agentId: number | null;
}

/** The recorded decisions of a conversation (GET /conversations/:id/allocations). */
@Injectable()
export class AllocationDecisionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AllocationRepository,
    private readonly conversations: ConversationsRepository,
  ) {}

  async decisions(user: Principal, conversationId: number): Promise<AllocationDecisionView[]> {
    const conversation = await this.conversations.parties(this.dataSource.manager, conversationId);
    if (!conversation) throw Errors.noSuchConversation();
    Access.requireSteerConversation(user, conversation);
    const rows = await this.repo.decisionsOf(this.dataSource.manager, conversationId);
    return rows.map((r) => ({ at: r.at.toISOString(), trigger: r.trigger, strategy: r.strategy, candidates: r.candidates, outcome: r.outcome, agentId: r.agent_id }));
  }
}

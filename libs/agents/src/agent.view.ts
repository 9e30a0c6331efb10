import { AgentState, AgentStatusView, ConversationStatus } from '@cc/common';
import { RoutingType } from './agent.entity';

/** The agent resource of API.md section 4. */
export interface AgentView {
  id: number;
  email: string;
  name: string;
  number: string | null;
  skills: string[];
  maxConcurrent: number;
  channelCapacity: Record<string, number>;
  wrapUpSeconds: number;
  manualStatus: string | null;
  routingType: RoutingType;
  phoneNumber: string | null;
  queueIds: number[];
  createdAt: string;
  updatedAt: string;
  stats: {
    activeConversations: number;
    totalConversations: number;
    totalResolved: number;
    latestConversation: { id: number; status: ConversationStatus; createdAt: string } | null;
  };
  status: Pick<AgentStatusView, 'logged' | 'extension' | 'context' | 'paused' | 'pauseReason' | 'wrapUpUntil' | 'state' | 'activeByChannel'>;
}

export interface CreateAgentInput {
  email: string;
  name: string;
  password: string;
  number?: string | null;
  skills?: string[];
  maxConcurrent?: number;
  channelCapacity?: Record<string, number>;
  wrapUpSeconds?: number;
  manualStatus?: string | null;
  routingType?: RoutingType;
  phoneNumber?: string | null;
  /** Omitted: the agent joins the `default` queue. */
  queueIds?: number[];
}

export type UpdateAgentInput = Partial<CreateAgentInput>;

export interface ListAgentsInput {
  page: number;
  limit: number;
  /** Matches name, email or number (case-insensitive substring). */
  q?: string;
  /** Agents serving this channel: those with the skill, and those with no skills (they serve all). */
  skill?: string;
  state?: AgentState;
}

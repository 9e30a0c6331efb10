import { AgentState } from '@cc/common';
import { RoutingType } from './agent.entity';

export type { AgentView } from '@cc/protocol';

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

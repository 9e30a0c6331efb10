import { ApiProperty } from '@nestjs/swagger';
import type { AgentView } from '@cc/agents';
import type { AllocationDecisionView, AllocationOutcome, CandidateVerdict as CandidateVerdictView } from '@cc/allocation';
import type { CustomerView, UserView } from '@cc/auth';
import type { AgentState, AgentStatusView, ConversationStatus, ConversationView, MessageView, Role, SenderType } from '@cc/common';
import type { PauseReasonView } from '@cc/presence';
import type { QueueOverflow, QueueStrategy, QueueView } from '@cc/queues';

/*
 * The shapes the API answers with, as OpenAPI schemas (HTTP answers) and AsyncAPI payloads
 * (socket events). Each class `implements` the wire view it documents, so a field added to a
 * view and not here fails the type check; the swagger plugin turns the property types and
 * comments into the schema (nest-cli.json), and docs tests validate real answers against it.
 * The class name is the schema name clients see.
 */

export class PauseReason implements PauseReasonView {
  id: number;
  name: string;
}

export class AgentStatus implements AgentStatusView {
  id: number;
  /** The agent number (digits), or null. */
  number: string | null;
  logged: boolean;
  /** The device's extension while logged in on one. */
  extension: string | null;
  context: string | null;
  paused: boolean;
  pauseReason: PauseReason | null;
  /** ISO 8601; the agent is in wrap-up until then. */
  wrapUpUntil: string | null;
  /** Derived by precedence offline > paused > wrap-up > busy (at capacity) > available. */
  state: AgentState;
  activeConversations: number;
  maxConcurrent: number;
  queueIds: number[];
}

export class AgentConversationRef {
  id: number;
  status: ConversationStatus;
  createdAt: string;
}

export class AgentStats {
  activeConversations: number;
  totalConversations: number;
  totalResolved: number;
  /** The agent's newest conversation. */
  latestConversation: AgentConversationRef | null;
}

export class AgentPresence implements Pick<AgentStatusView, 'logged' | 'extension' | 'context' | 'paused' | 'pauseReason' | 'wrapUpUntil' | 'state'> {
  logged: boolean;
  extension: string | null;
  context: string | null;
  paused: boolean;
  pauseReason: PauseReason | null;
  wrapUpUntil: string | null;
  state: AgentState;
}

export class Agent implements AgentView {
  id: number;
  email: string;
  name: string;
  /** Unique agent number (digits), a second key beside `id`. */
  number: string | null;
  /** Channels served; empty means every channel. */
  skills: string[];
  maxConcurrent: number;
  wrapUpSeconds: number;
  manualStatus: string | null;
  routingType: 'app' | 'phone';
  phoneNumber: string | null;
  queueIds: number[];
  createdAt: string;
  updatedAt: string;
  stats: AgentStats;
  status: AgentPresence;
}

export class AgentQueues {
  queueIds: number[];
}

export class Affected {
  /** How many agents were affected. */
  affected: number;
}

export class User implements UserView {
  /** For an agent its agent id, for a customer its customer id. */
  id: number;
  role: Role;
  name: string | null;
  email: string | null;
  /** Customers only. */
  externalId?: string | null;
}

export class LoginResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the token expires. */
  expiresIn: number;
  user: User;
}

export class Customer implements CustomerView {
  id: number;
  name: string | null;
  email: string | null;
  externalId: string | null;
}

export class CustomerSession {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  customer: Customer;
}

export class QueueWaiting {
  count: number;
  /** When the longest-waiting conversation started to wait. */
  oldestSince: string | null;
}

export class Queue implements QueueView {
  id: number;
  name: string;
  strategy: QueueStrategy;
  overflow: QueueOverflow;
  /** Channels routed here when a conversation names no queue. */
  channels: string[];
  /** Larger goes first. */
  priority: number;
  webhookUrl: string | null;
  webhookTimeoutMs: number;
  memberIds: number[];
  waiting: QueueWaiting;
}

export class Conversation implements ConversationView {
  id: number;
  customerId: number;
  agentId: number | null;
  queueId: number;
  channel: string;
  status: ConversationStatus;
  createdAt: string;
  assignedAt: string | null;
  resolvedAt: string | null;
  /** Who resolved it: `agent`, `customer`, `admin` (or `system`). */
  resolvedBy: string | null;
  notes: string | null;
  /** 1-based place in the waiting line, while queued. */
  position?: number;
}

export class Message implements MessageView {
  /** Increases in the order messages are stored. */
  id: number;
  conversationId: number;
  senderType: SenderType;
  senderId: number | null;
  text: string;
  clientMessageId: string | null;
  createdAt: string;
}

export class HistoryMeta {
  /** More messages exist in the direction asked (after the last, or before the first). */
  hasMore: boolean;
}

export class MessageHistory {
  /** Oldest first. */
  data: Message[];
  meta: HistoryMeta;
}

export class CandidateVerdict implements CandidateVerdictView {
  agentId: number;
  eligible: boolean;
  /** `eligible`, or why not: `skill`, `offline`, `paused`, `wrap-up`, `full`, ... */
  reason: string;
  active: number;
  maxConcurrent: number;
}

export class AllocationDecision implements AllocationDecisionView {
  at: string;
  /** What asked for the decision: `start`, `drain:<cause>`, `transfer`, `manual`, ... */
  trigger: string;
  strategy: string;
  candidates: CandidateVerdict[];
  outcome: AllocationOutcome;
  agentId: number | null;
}

export class AllocationPreview {
  agent: Agent;
}

export class AgentRef {
  id: number;
  name: string;
}

export class Health {
  @ApiProperty({ enum: ['ok', 'error'], example: 'ok' })
  status: string;

  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  db: string;

  @ApiProperty({ enum: ['up', 'down', 'disabled'], example: 'disabled' })
  redis: string;
}

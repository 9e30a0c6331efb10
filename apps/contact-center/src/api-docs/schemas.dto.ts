import { ApiProperty } from '@nestjs/swagger';
import type { AllocationDecisionView, AllocationOutcome, CandidateVerdict as CandidateVerdictView } from '@cc/allocation';
import type * as Wire from '@cc/protocol';
import type { AgentState, ConversationStatus, QueueOverflow, QueueStrategy, Role, SenderType } from '@cc/protocol';

/*
 * The shapes the API answers with, as OpenAPI schemas (HTTP answers) and AsyncAPI payloads
 * (socket events). Each class `implements` the wire view it documents, so a field added to a
 * view and not here fails the type check; the swagger plugin turns the property types and
 * comments into the schema (nest-cli.json), and docs tests validate real answers against it.
 * The class name is the schema name clients see.
 */

export class PauseReason implements Wire.PauseReasonView {
  id: number;
  name: string;
}

export class AgentStatus implements Wire.AgentStatusView {
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
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: 'Active conversations per channel; the values add up to `activeConversations`', example: { web: 1, wa: 1 } })
  activeByChannel: Record<string, number>;
  /** Offers waiting for this agent's answer: they hold slots like active conversations (state `busy` counts them). */
  offeredConversations: number;
  maxConcurrent: number;
  queueIds: number[];
}

export class AgentConversationRef {
  id: number;
  status: ConversationStatus;
  createdAt: string;
}

export class AgentConversationStats {
  activeConversations: number;
  totalConversations: number;
  totalResolved: number;
  /** The agent's newest conversation. */
  latestConversation: AgentConversationRef | null;
}

export class AgentPresence implements Pick<Wire.AgentStatusView, 'logged' | 'extension' | 'context' | 'paused' | 'pauseReason' | 'wrapUpUntil' | 'state' | 'activeByChannel'> {
  logged: boolean;
  extension: string | null;
  context: string | null;
  paused: boolean;
  pauseReason: PauseReason | null;
  wrapUpUntil: string | null;
  state: AgentState;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: 'Active conversations per channel', example: { web: 1 } })
  activeByChannel: Record<string, number>;
}

export class Agent implements Wire.AgentView {
  id: number;
  email: string;
  name: string;
  /** Unique agent number (digits), a second key beside `id`. */
  number: string | null;
  /** Channels served; empty means every channel. */
  skills: string[];
  maxConcurrent: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 0, maximum: 50 },
    description: 'Caps on offered + active conversations per channel; `maxConcurrent` stays the cap over all channels',
    example: { web: 2, wa: 1 },
  })
  channelCapacity: Record<string, number>;
  wrapUpSeconds: number;
  manualStatus: string | null;
  routingType: 'app' | 'phone';
  phoneNumber: string | null;
  queueIds: number[];
  createdAt: string;
  updatedAt: string;
  stats: AgentConversationStats;
  status: AgentPresence;
}

export class AgentQueues {
  queueIds: number[];
}

export class Affected {
  /** How many agents were affected. */
  affected: number;
}

export class User implements Wire.UserView {
  /** For an agent its agent id, for a customer its customer id. */
  id: number;
  role: Role;
  name: string | null;
  email: string | null;
  /** Customers only. */
  externalId?: string | null;
}

export class LoginResponse implements Wire.LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the token expires. */
  expiresIn: number;
  user: User;
}

export class Customer implements Wire.CustomerView {
  id: number;
  name: string | null;
  email: string | null;
  externalId: string | null;
}

export class CustomerSession implements Wire.CustomerSessionResult {
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

export class Queue implements Wire.QueueView {
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
  /** 0: assign directly; else automatic allocation offers and the agent has this many seconds to accept (0..600). */
  offerTimeoutSeconds: number;
  /** A missed (expired) offer pauses the agent with the reason `Missed offer`. */
  pauseOnMissedOffer: boolean;
  /** Service-level target: conversations assigned within this many seconds count as answered in time. */
  slaSeconds: number;
  memberIds: number[];
  waiting: QueueWaiting;
}

export class Conversation implements Wire.ConversationView {
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
  /** While queued: the estimated seconds until assignment, or null without a basis. */
  estimatedWaitSeconds?: number | null;
  /** While offered: when the offer expires. */
  offerExpiresAt?: string;
}

export class Message implements Wire.MessageView {
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

export class MessageHistory implements Wire.MessagePage {
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
  @ApiProperty({ enum: ['ok', 'degraded', 'error', 'stopping'], example: 'ok', description: '`degraded`: only Redis is down; `stopping`: shutting down (readiness)' })
  status: string;

  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  db: string;

  @ApiProperty({ enum: ['up', 'down', 'disabled'], example: 'disabled' })
  redis: string;
}

export class AgentStateCounts implements Wire.AgentStateCounts {
  offline: number;
  available: number;
  busy: number;
  paused: number;
  /** Agents in wrap-up. */
  wrapUp: number;
}

export class QueueStats implements Wire.QueueStatsView {
  queueId: number;
  name: string;
  waiting: number;
  offered: number;
  active: number;
  oldestWaitingSince: string | null;
  longestWaitSeconds: number;
  /** For a conversation joining the line now; null without a basis for an estimate. */
  estimatedWaitSeconds: number | null;
  /** The queue's members counted by state. */
  agents: AgentStateCounts;
}

export class AgentStats implements Wire.AgentStatsView {
  agentId: number;
  name: string;
  state: AgentState;
  /** Since when the agent is in `state`. */
  stateSince: string;
  activeConversations: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Active conversations per channel, as in the agent status (offers not counted); the values add up to `activeConversations`',
    example: { web: 1, wa: 2 },
  })
  activeByChannel: Record<string, number>;
}

export class ConversationMeasures implements Wire.ConversationMeasures {
  /** Conversations created in the bucket. */
  started: number;
  /** First assignments (a transfer counts in `transferred`). */
  assigned: number;
  /** Every resolution, abandoned ones too. */
  resolved: number;
  /** Resolved before ever being assigned. */
  abandoned: number;
  transferred: number;
  avgWaitSeconds: number | null;
  maxWaitSeconds: number | null;
  avgHandleSeconds: number | null;
  avgFirstResponseSeconds: number | null;
  /** Share (0..1) answered or abandoned that were assigned within the queue's slaSeconds. */
  serviceLevel: number | null;
}

export class ReportBucket extends ConversationMeasures {
  /** Start of the bucket (ISO 8601). */
  start: string;
}

export class ConversationReport implements Wire.ConversationReport {
  buckets: ReportBucket[];
  /** Counts are the sums over the buckets; averages over the conversations that have the measure. */
  total: ConversationMeasures;
}

export class AgentReport implements Wire.AgentReportView {
  agentId: number;
  name: string;
  /** Clipped to the range; adds up to its length for an agent that existed throughout. */
  secondsByState: AgentStateCounts;
  assigned: number;
  resolved: number;
  transferredOut: number;
  missedOffers: number;
  avgHandleSeconds: number | null;
  avgFirstResponseSeconds: number | null;
}

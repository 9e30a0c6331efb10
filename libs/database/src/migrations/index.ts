import { Foundation1763884800000 } from './1763884800000-Foundation';
import { AgentsPresenceQueues1763884900000 } from './1763884900000-AgentsPresenceQueues';
import { MessagesAllocation1763885000000 } from './1763885000000-MessagesAllocation';
import { WaitStartsInLine1763885100000 } from './1763885100000-WaitStartsInLine';
import { OffersChannelCapacity1763885400000 } from './1763885400000-OffersChannelCapacity';
import { StatisticsHistory1763885500000 } from './1763885500000-StatisticsHistory';
import { DecisionsByTime1763885510000 } from './1763885510000-DecisionsByTime';
import { Integrations1763885600000 } from './1763885600000-Integrations';
import { AgentStatsIndexOnly1763885700000 } from './1763885700000-AgentStatsIndexOnly';
import { ReportRollup1763885800000 } from './1763885800000-ReportRollup';
import { StateHistoryByAgentAtId1763885810000 } from './1763885810000-StateHistoryByAgentAtId';
import { AgentHeldSlots1763886000000 } from './1763886000000-AgentHeldSlots';
import { AgentConversationCounts1763886100000 } from './1763886100000-AgentConversationCounts';
import { TokenVersionNotify1763886110000 } from './1763886110000-TokenVersionNotify';
import { DeliveriesFillfactor1763886200000 } from './1763886200000-DeliveriesFillfactor';

/** Every migration, oldest first: the app and the TypeORM CLI run this same list. */
export const MIGRATIONS = [
  Foundation1763884800000,
  AgentsPresenceQueues1763884900000,
  MessagesAllocation1763885000000,
  WaitStartsInLine1763885100000,
  OffersChannelCapacity1763885400000,
  StatisticsHistory1763885500000,
  DecisionsByTime1763885510000,
  Integrations1763885600000,
  AgentStatsIndexOnly1763885700000,
  ReportRollup1763885800000,
  StateHistoryByAgentAtId1763885810000,
  AgentHeldSlots1763886000000,
  AgentConversationCounts1763886100000,
  TokenVersionNotify1763886110000,
  DeliveriesFillfactor1763886200000,
];

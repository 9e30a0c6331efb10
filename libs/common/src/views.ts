/** Wire shapes of API.md: defined once in `@cc/protocol` (no runtime imports, browser-safe). */
import type { Paginated } from '@cc/protocol';

export type {
  Role,
  Principal,
  AgentState,
  AgentStatusView,
  ConversationStatus,
  ConversationView,
  SenderType,
  MessageView,
  OfferEndReason,
  Paginated,
} from '@cc/protocol';

/** Ids are PostgreSQL integers: anything larger is a 400, never a database error. */
export const MAX_ID = 2_147_483_647;

export function paginated<T>(data: T[], page: number, limit: number, total: number): Paginated<T> {
  return { data, meta: { page, limit, total, totalPages: Math.ceil(total / limit) } };
}

import { ConversationView, Principal } from './views';

/** The place an offered conversation would have in its waiting line, and the wait estimate for it. */
export interface PlaceInLine {
  position?: number;
  estimatedWaitSeconds?: number | null;
}

/**
 * A conversation as `viewer` may see it, the one place that decides it for HTTP answers and
 * socket payloads. An offer is between the agents and the system until it is accepted (API.md
 * section 11: "the customer's view is unchanged until the agent accepts"), so a customer sees an
 * offered conversation exactly as while it waited: `queued`, no agent, no deadline, and its place
 * in the line (`place`, as the waiting line counts it: the offer keeps its wait). Agents and
 * admins see it as it is.
 */
export function conversationSeenBy(viewer: Pick<Principal, 'role'>, view: ConversationView, place: PlaceInLine = {}): ConversationView {
  if (viewer.role !== 'customer' || view.status !== 'offered') return view;
  const { offerExpiresAt: _deadline, position: _position, estimatedWaitSeconds: _estimate, ...rest } = view;
  const seen: ConversationView = { ...rest, status: 'queued', agentId: null };
  if (place.position) {
    seen.position = place.position;
    if (place.estimatedWaitSeconds !== undefined) seen.estimatedWaitSeconds = place.estimatedWaitSeconds;
  }
  return seen;
}

/** The viewer of what a customer's sockets are sent. */
export const CUSTOMER: Pick<Principal, 'role'> = { role: 'customer' };

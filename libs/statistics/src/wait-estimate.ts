/**
 * The waiting-time estimate (API.md section 13), one rule for every view.
 *
 * The queue's recent throughput is the number of its conversations first assigned in the last
 * `ESTIMATE_WINDOW_SECONDS`. At that rate the line moves one place every window / throughput
 * seconds, so the conversation at `position` is estimated to wait position × window / throughput.
 * No basis, `null`: nothing was assigned from the queue in the window, or no member is logged in.
 */
export const ESTIMATE_WINDOW_SECONDS = 15 * 60;

export interface QueueThroughput {
  /** Conversations of the queue first assigned within the window. */
  assignedInWindow: number;
  /** Members of the queue logged in now (any state but offline). */
  loggedInMembers: number;
}

/** Seconds the line takes to move one place, or null without a basis. */
export function secondsPerPlace(t: QueueThroughput): number | null {
  if (t.assignedInWindow <= 0 || t.loggedInMembers <= 0) return null;
  return ESTIMATE_WINDOW_SECONDS / t.assignedInWindow;
}

export function estimateWait(position: number | undefined | null, perPlace: number | null): number | null {
  if (perPlace === null || !position || position < 1) return null;
  return Math.round(position * perPlace);
}

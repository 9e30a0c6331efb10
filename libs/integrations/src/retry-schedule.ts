/** Delays after the 1st, 2nd, ... failed attempt (API.md section 14); then hourly. In seconds. */
export const RETRY_DELAYS_SECONDS = [1, 5, 30, 120, 600];
export const HOURLY_SECONDS = 3600;
/** Retries stop this long after the event (then the delivery is failed). */
export const RETRY_HORIZON_SECONDS = 24 * 3600;

/**
 * Seconds until the next attempt after `attempts` failed ones, or null when the next attempt
 * would fall after the horizon (the delivery is then failed). Every delay and the horizon are
 * multiplied by `scale` (WEBHOOK_RETRY_SCALE).
 */
export function nextRetryIn(attempts: number, secondsSinceEvent: number, scale: number): number | null {
  const delay = (RETRY_DELAYS_SECONDS[attempts - 1] ?? HOURLY_SECONDS) * scale;
  if (secondsSinceEvent + delay > RETRY_HORIZON_SECONDS * scale) return null;
  return delay;
}

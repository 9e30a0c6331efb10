/**
 * Decides when the Redis adapter is "back" after a loss: only once every connection it needs is
 * ready again, and once per loss. The subscriber's `ready` follows its re-subscriptions, but the
 * publisher reconnects on its own backoff; announcing the return on the subscriber alone let
 * clients re-sync while publishes were still being dropped.
 */
export class ReconnectGate {
  private lost = false;

  constructor(private readonly connectionsReady: () => boolean) {}

  /** A connection ended or is reconnecting. */
  markLost(): void {
    this.lost = true;
  }

  /** A connection became ready: true exactly when this ends a loss (every connection is ready). */
  readyAgain(): boolean {
    if (!this.lost || !this.connectionsReady()) return false;
    this.lost = false;
    return true;
  }
}

import { Agent, errors } from 'undici';

/** A failed POST, with the text recorded as the delivery's last error. */
export class WebhookCallError extends Error {}

/**
 * POSTs event webhooks over keep-alive connections (an undici Agent: one pool per origin), so a
 * busy subscription pays neither a connection nor fetch's per-call Request/Headers/AbortSignal
 * objects per event. Redirects are not followed: a 3xx is an answer like any other.
 */
export class WebhookClient {
  private readonly agent: Agent;
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(
    private readonly timeoutMs: number,
    /** The most connections per origin (the dispatcher's attempts in flight: none waits for a connection). */
    connections: number,
  ) {
    this.agent = new Agent({
      connections,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs },
      maxRedirections: 0,
    });
  }

  /**
   * Answers the status code; throws a WebhookCallError when there was no answer: "No answer
   * within N s" once `timeoutMs` passed since the call started (connecting included), else the
   * connection's error.
   */
  async post(url: string, headers: Record<string, string>, body: string): Promise<number> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    try {
      const { origin, path } = this.target(url);
      const response = await this.agent.request({ origin, path, method: 'POST', headers, body, signal: deadline.signal });
      // Read and dropped (up to undici's limit) so the connection can carry the next call; the
      // status stands whatever happens to the rest of the body.
      await response.body.dump().catch(() => undefined);
      return response.statusCode;
    } catch (err) {
      if (deadline.signal.aborted || err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError || err instanceof errors.ConnectTimeoutError) {
        throw new WebhookCallError(`No answer within ${this.timeoutMs / 1000} s`);
      }
      throw new WebhookCallError((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends every connection; calls in flight fail. */
  async close(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }

  private target(url: string): { origin: string; path: string } {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      // Bounded by the subscriptions' URLs; cleared now and then so removed ones do not pile up.
      if (this.targets.size >= 1000) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }
}

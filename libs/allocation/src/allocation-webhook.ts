import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHmac } from 'crypto';
import { APP_CONFIG, AppConfig } from '@cc/common';

export type WebhookAnswer = { kind: 'agent'; agentId: number } | { kind: 'wait' } | { kind: 'fallback'; why: string };

/** Asks a queue's allocation webhook which agent should take a conversation. */
@Injectable()
export class AllocationWebhook {
  private readonly logger = new Logger('AllocationWebhook');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async ask(url: string, timeoutMs: number, body: unknown): Promise<WebhookAnswer> {
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.config.webhookSecret) {
      headers['X-Signature'] = `sha256=${createHmac('sha256', this.config.webhookSecret).update(payload).digest('hex')}`;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await fetch(url, { method: 'POST', headers, body: payload, signal: abort.signal, redirect: 'error' });
      const text = await res.text();
      if (res.status !== 200) return this.fallback(`status ${res.status}`);
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        return this.fallback('answer is not JSON');
      }
      const agentId = (answer as { agentId?: unknown })?.agentId;
      if (agentId === null) return { kind: 'wait' };
      if (typeof agentId === 'number' && Number.isInteger(agentId) && agentId > 0) return { kind: 'agent', agentId };
      return this.fallback('answer has no valid agentId');
    } catch (err) {
      return this.fallback(abort.signal.aborted ? `timeout after ${timeoutMs} ms` : (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private fallback(why: string): WebhookAnswer {
    this.logger.warn(`Allocation webhook failed (${why}); using the queue strategy`);
    return { kind: 'fallback', why };
  }
}

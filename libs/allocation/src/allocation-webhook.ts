import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHmac } from 'crypto';
import { APP_CONFIG, AppConfig } from '@cc/common';

/** An answer body beyond this counts as an error (fallback to the strategy); the rest is never read. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** The body as text, or null as soon as it exceeds `limit` bytes (memory stays bounded whatever the receiver sends). */
async function readCapped(res: Response, limit: number): Promise<string | null> {
  if (!res.body) return '';
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body.cancel().catch(() => undefined);
    return null;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

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
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        return this.fallback(`status ${res.status}`);
      }
      const text = await readCapped(res, MAX_ANSWER_BYTES);
      if (text === null) {
        abort.abort();
        return this.fallback(`answer larger than ${MAX_ANSWER_BYTES} bytes`);
      }
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

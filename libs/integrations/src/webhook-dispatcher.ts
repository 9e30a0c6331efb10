import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { BatchQueue, ClaimedDelivery, OutboxRepository } from '@cc/database';
import { nextRetryIn } from './retry-schedule';
import { webhookSignature } from './signature';
import { WebhookCallError, WebhookClient } from './webhook-client';

/** API.md section 14: an attempt without an answer within 10 s failed (not scaled). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** A claimed attempt is leased this long: an instance that dies mid-attempt frees it for the others after it. */
const LEASE_SECONDS = DELIVERY_TIMEOUT_MS / 1000 + 5;
/**
 * Attempts in flight per instance. Events of one conversation go one at a time, so this is also
 * how many conversations are sent at once (256 was tried: BENCHMARKS.md, the outbox's levers).
 */
export const MAX_IN_FLIGHT = 64;
/**
 * While attempts are in flight, the next claim waits until this many slots are free: a busy
 * dispatcher claims a batch per round trip instead of one row after every answer.
 */
const CLAIM_BATCH = MAX_IN_FLIGHT / 4;
const PRUNE_EVERY_MS = 3600_000;
/**
 * 2xx answers are recorded at most once per this many milliseconds (a full group of
 * MAX_IN_FLIGHT at once): the answers of that time share one statement, whose planning, about
 * 1 ms, is the same for 1 answer as for 64 (BENCHMARKS.md, the outbox's levers). An answer after
 * a quiet spell is recorded at once.
 */
const ANSWER_LINGER_MS = 20;

type Answer = { id: string; attempt: number; statusCode: number };

/**
 * Sends the outbox's deliveries. Every instance runs one: it claims due deliveries with
 * FOR UPDATE SKIP LOCKED (see OutboxRepository.claim), so no attempt is sent by two instances
 * at once, POSTs each signed event, and records the answer: delivered, retried later on the
 * schedule of section 14, or failed. Claims happen every WEBHOOK_POLL_MS and when attempts end
 * (at once when nothing else is in flight, so the next event of a quiet conversation follows at
 * once; else when CLAIM_BATCH slots are free). With WEBHOOK_DISPATCH=false an instance never
 * claims (its changes still write their outbox rows): deliveries wait for an instance that
 * dispatches, and `cc_webhook_deliveries_pending` shows them waiting.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookDispatcher');
  private readonly stopping = new AbortController();
  private readonly client = new WebhookClient(DELIVERY_TIMEOUT_MS, MAX_IN_FLIGHT);
  private readonly inFlight = new Set<Promise<void>>();
  private claiming = false;
  private claimAgain = false;
  private poll: NodeJS.Timeout | null = null;
  // 2xx answers recorded together: one statement and one commit for up to MAX_IN_FLIGHT
  // deliveries instead of one each (the dispatcher shares the database with the message path it
  // reports on), at most once per ANSWER_LINGER_MS while busy, and the same statement claims the
  // next deliveries for the slots they free. One such statement runs at a time.
  private readonly deliveredAnswers = new BatchQueue<Answer, void>(
    async (answers) => {
      await this.recordAndClaim(answers);
      return answers.map(() => ({ ok: true as const, value: undefined }));
    },
    MAX_IN_FLIGHT,
    Infinity,
    { minIntervalMs: ANSWER_LINGER_MS },
  );
  private pruner: NodeJS.Timeout | null = null;

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.pruner = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruner.unref();
    void this.prune();
    if (!this.config.webhookDispatch) {
      this.logger.log('WEBHOOK_DISPATCH=false: this instance writes outbox rows but never claims or sends deliveries');
      return;
    }
    this.poll = setInterval(() => this.kick(), this.config.webhookPollMs);
    this.poll.unref();
    this.kick();
  }

  /** In-flight attempts are aborted: their leases run out and another instance (or a restart) sends them again. */
  async onApplicationShutdown(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    if (this.pruner) clearInterval(this.pruner);
    this.stopping.abort();
    this.deliveredAnswers.unspace();
    await this.client.close();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks for due deliveries now (coalesced: one claim at a time per instance); never on an instance with WEBHOOK_DISPATCH=false. */
  kick(): void {
    if (this.stopping.signal.aborted || !this.config.webhookDispatch) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimLoop().finally(() => (this.claiming = false));
  }

  /** Deletes delivered deliveries older than WEBHOOK_RETENTION_DAYS. */
  async prune(): Promise<number> {
    try {
      return await this.outbox.prune(this.config.webhookRetentionDays);
    } catch (err) {
      if (!this.stopping.signal.aborted) this.logger.warn(`Pruning deliveries failed: ${(err as Error).message}`);
      return 0;
    }
  }

  private async claimLoop(): Promise<void> {
    try {
      do {
        this.claimAgain = false;
        for (;;) {
          const free = MAX_IN_FLIGHT - this.inFlight.size;
          if (free <= 0 || this.stopping.signal.aborted) return;
          const claimed = await this.outbox.claim(free, LEASE_SECONDS);
          for (const delivery of claimed) this.track(this.attempt(delivery));
          if (claimed.length < free) break;
        }
      } while (this.claimAgain);
    } catch (err) {
      if (!this.stopping.signal.aborted) this.logger.warn(`Claiming deliveries failed: ${(err as Error).message}`);
    }
  }

  /** Records 2xx answers; claims in the same statement unless a claim is running already (then that one claims again after). */
  private async recordAndClaim(answers: Answer[]): Promise<void> {
    const claims = !this.claiming && !this.stopping.signal.aborted;
    if (!claims) this.claimAgain = true;
    else this.claiming = true;
    try {
      // The answered attempts end right after this statement: their slots are free.
      const limit = claims ? Math.max(0, MAX_IN_FLIGHT - this.inFlight.size + answers.length) : 0;
      const claimed = await this.outbox.deliveredAndClaim(answers, limit, LEASE_SECONDS);
      for (const delivery of claimed) this.track(this.attempt(delivery));
    } finally {
      if (claims) {
        this.claiming = false;
        if (this.claimAgain) this.kick();
      }
    }
  }

  /** `work` answers true when its end was recorded together with a claim (no other claim needed). */
  private track(work: Promise<boolean>): void {
    const done = work.catch(() => false);
    const slot = done.then(() => undefined);
    this.inFlight.add(slot);
    void done.then((claimedAfter) => {
      this.inFlight.delete(slot);
      if (!claimedAfter && (this.inFlight.size === 0 || MAX_IN_FLIGHT - this.inFlight.size >= CLAIM_BATCH)) this.kick();
    });
  }

  /** Answers true when a 2xx was recorded (its statement claimed the next deliveries). */
  private async attempt(d: ClaimedDelivery): Promise<boolean> {
    const { body } = d;
    const timestamp = Math.floor(Date.now() / 1000);
    let statusCode: number | null = null;
    let error: string;
    try {
      statusCode = await this.client.post(
        d.url,
        {
          'Content-Type': 'application/json',
          'User-Agent': 'contact-center-webhooks/1',
          'X-Webhook-Id': d.eventUid,
          'X-Webhook-Timestamp': String(timestamp),
          'X-Webhook-Signature': webhookSignature(d.secret, timestamp, body),
        },
        body,
      );
      if (statusCode >= 200 && statusCode < 300) {
        await this.deliveredAnswers.push({ id: d.id, attempt: d.attempts, statusCode });
        return true;
      }
      error = `HTTP ${statusCode}`;
    } catch (err) {
      if (this.stopping.signal.aborted) return false;
      if (!(err instanceof WebhookCallError)) {
        // Recording the 2xx failed: the lease runs out and the attempt is made again (at least once).
        this.logger.warn(`Recording a delivery failed: ${(err as Error).message}`);
        return false;
      }
      error = err.message;
    }
    const age = (Date.now() - new Date(d.occurredAt).getTime()) / 1000;
    try {
      await this.outbox.attemptFailed(d.id, d.attempts, statusCode, error, nextRetryIn(d.attempts, age, this.config.webhookRetryScale));
    } catch (err) {
      // The lease runs out and the attempt is made again: at least once.
      if (!this.stopping.signal.aborted) this.logger.warn(`Recording a delivery attempt failed: ${(err as Error).message}`);
    }
    return false;
  }
}

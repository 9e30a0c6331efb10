import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createClient } from 'redis';
import { APP_CONFIG, AppConfig } from '@cc/common';
import { ReconnectGate } from './reconnect-gate';

type RedisClient = ReturnType<typeof createClient>;

const COMMAND_QUEUE_MAX = 10_000;

/** The publish/subscribe connections of the Socket.IO Redis adapter, when REDIS_URL is set. */
@Injectable()
export class RedisClients implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  pub: RedisClient | null = null;
  sub: RedisClient | null = null;
  private readonly gate = new ReconnectGate(() => !!this.pub?.isReady && !!this.sub?.isReady);
  private readonly reconnectListeners: (() => void)[] = [];
  /** Cross-instance publishes dropped while Redis was unreachable (clients re-sync on the fresh `ready`). */
  dropped = 0;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get enabled(): boolean {
    return !!this.config.redisUrl;
  }

  async connect(): Promise<{ pub: RedisClient; sub: RedisClient } | null> {
    if (!this.config.redisUrl) return null;
    if (!this.pub || !this.sub) {
      // No offline queue: while Redis is away a publish fails at once instead of piling up in
      // memory; and at most COMMAND_QUEUE_MAX commands wait on a live but slow connection.
      this.pub = createClient({ url: this.config.redisUrl, disableOfflineQueue: true, commandsQueueMaxLength: COMMAND_QUEUE_MAX });
      this.sub = this.pub.duplicate();
      for (const client of [this.pub, this.sub]) {
        client.on('error', (err) => this.logger.warn(`Redis: ${err.message}`));
        client.on('end', () => this.gate.markLost());
        client.on('reconnecting', () => this.gate.markLost());
      }
      const whenBothReady = () => {
        if (!this.gate.readyAgain()) return;
        this.logger.log('Reconnected to Redis');
        for (const listener of this.reconnectListeners) listener();
      };
      this.pub.on('ready', whenBothReady);
      this.sub.on('ready', whenBothReady);
      // The adapter does not await its publishes: a refused one must not become an unhandled rejection.
      const pub = this.pub as RedisClient & { publish: (...args: unknown[]) => Promise<number> };
      const publish = pub.publish.bind(pub) as (...args: unknown[]) => Promise<number>;
      pub.publish = (...args: unknown[]) =>
        publish(...args).catch(() => {
          this.dropped++;
          return 0;
        });
      await Promise.all([this.pub.connect(), this.sub.connect()]);
      this.logger.log('Connected to Redis');
    }
    return { pub: this.pub, sub: this.sub };
  }

  /** Called each time the adapter's connection to Redis comes back after a loss. */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.pub, this.sub].map((c) => (c?.isOpen ? c.quit().catch(() => undefined) : undefined)));
  }
}

import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createClient } from 'redis';
import { APP_CONFIG, AppConfig } from '@cc/common';

type RedisClient = ReturnType<typeof createClient>;

/** The publish/subscribe connections of the Socket.IO Redis adapter, when REDIS_URL is set. */
@Injectable()
export class RedisClients implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  pub: RedisClient | null = null;
  sub: RedisClient | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get enabled(): boolean {
    return !!this.config.redisUrl;
  }

  async connect(): Promise<{ pub: RedisClient; sub: RedisClient } | null> {
    if (!this.config.redisUrl) return null;
    if (!this.pub || !this.sub) {
      this.pub = createClient({ url: this.config.redisUrl });
      this.sub = this.pub.duplicate();
      for (const client of [this.pub, this.sub]) client.on('error', (err) => this.logger.warn(`Redis: ${err.message}`));
      await Promise.all([this.pub.connect(), this.sub.connect()]);
      this.logger.log('Connected to Redis');
    }
    return { pub: this.pub, sub: this.sub };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.pub, this.sub].map((c) => (c?.isOpen ? c.quit().catch(() => undefined) : undefined)));
  }
}

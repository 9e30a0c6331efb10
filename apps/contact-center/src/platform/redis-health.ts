import { Injectable } from '@nestjs/common';
import { RedisClients } from './redis-clients';

@Injectable()
export class RedisHealth {
  constructor(private readonly clients: RedisClients) {}

  async check(): Promise<'up' | 'down' | 'disabled'> {
    if (!this.clients.enabled) return 'disabled';
    const pub = this.clients.pub;
    if (!pub?.isReady) return 'down';
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 1000)));
      return (await Promise.race([pub.ping(), timeout])) === 'PONG' ? 'up' : 'down';
    } catch {
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  }
}

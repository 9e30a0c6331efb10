import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@cc/common';

/** Whether this instance can reach its database now: a round trip through the pool, bounded. */
@Injectable()
export class DatabaseHealth {
  constructor(private readonly dataSource: DataSource, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async check(): Promise<'up' | 'down'> {
    if (!this.dataSource.isInitialized) return 'down';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), Math.min(this.config.dbTimeoutMs, 2000))));
    try {
      return await Promise.race([
        this.dataSource.query('SELECT 1').then(
          () => 'up' as const,
          () => 'down' as const,
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { APP_CONFIG, AppConfig, DomainEventMap } from '@cc/common';
import { Drainer } from './drainer';

/**
 * Drains the waiting line whenever a slot may have freed, plus a periodic sweep so that a
 * restart, another instance or a missed event can never strand a waiting conversation.
 */
@Injectable()
export class AllocationListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private sweep: NodeJS.Timeout | null = null;

  constructor(
    private readonly drainer: Drainer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.sweep = setInterval(() => void this.drainer.drain('sweep'), this.config.allocationSweepMs);
    this.sweep.unref();
    void this.drainer.drain('startup');
  }

  onApplicationShutdown(): void {
    if (this.sweep) clearInterval(this.sweep);
  }

  @OnEvent('agent.status.changed')
  onStatus(event: DomainEventMap['agent.status.changed']): void {
    if (event.status.logged) void this.drainer.drain(event.reason);
  }

  @OnEvent('agent.capacity.changed')
  onCapacity(event: DomainEventMap['agent.capacity.changed']): void {
    void this.drainer.drain(event.reason);
  }

  @OnEvent('conversation.resolved')
  onResolved(): void {
    void this.drainer.drain('conversation-resolved');
  }

  @OnEvent('conversation.transferred')
  onTransferred(): void {
    void this.drainer.drain('conversation-transferred');
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig, DomainError } from '@cc/common';
import { PresenceService, SocketPresence } from '@cc/presence';
import { SocketHub } from './server-events';

/**
 * The grace rule of API.md section 5. Explicit presence (login, pause) is never touched here;
 * only a logged-in agent that has had a socket since its login and then has none on any instance
 * for PRESENCE_GRACE_SECONDS is logged off. The timer is `agent_presence.disconnected_since`, in
 * the database, so it survives a restart and any instance's sweep can finish it.
 */
@Injectable()
export class PresenceGrace implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PresenceGrace');
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private closing = false;

  constructor(
    private readonly sockets: SocketPresence,
    private readonly presence: PresenceService,
    private readonly hub: SocketHub,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get sweepMs(): number {
    return Math.max(500, Math.min(this.config.presenceGraceSeconds * 500, 5000));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    // Sockets closed by our own shutdown are not agents leaving: another instance's sweep, or
    // this one after a restart, notices them missing and starts the grace then.
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }

  /** A socket of the agent connected: the grace applies from now on, and any running grace ends. */
  async connected(agentId: number): Promise<void> {
    if (this.closing) return;
    await this.sockets.connected(agentId);
  }

  /** An agent that logged in while its console was already connected: its sockets count too. */
  async loggedIn(agentId: number): Promise<void> {
    if (this.closing) return;
    if (this.hub.agentOnlineHere(agentId) || (await this.hub.agentsOnline([agentId])).has(agentId)) await this.connected(agentId);
  }

  /** A socket of the agent went away: if it was the last one anywhere, the grace starts. */
  async disconnected(agentId: number): Promise<void> {
    if (this.closing || this.hub.agentOnlineHere(agentId)) return;
    if ((await this.hub.agentsOnline([agentId])).has(agentId)) return;
    await this.markDisconnected([agentId]);
  }

  /** One pass; every instance runs it, and running it twice is harmless. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((err) => this.logger.warn(`Presence sweep failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    if (this.closing || !this.hub.attached) return;
    const expired = await this.sockets.graceExpired(this.config.presenceGraceSeconds);
    if (expired.length) {
      const online = await this.hub.agentsOnline(expired);
      for (const agentId of expired) {
        if (this.closing) return;
        if (online.has(agentId)) await this.connected(agentId);
        else await this.logoff(agentId);
      }
    }
    // Sockets lost without a disconnect event (an instance crashed or was stopped).
    const watched = (await this.sockets.believedConnected()).filter(
      (id) => !this.hub.agentOnlineHere(id),
    );
    if (watched.length && !this.closing) {
      const online = await this.hub.agentsOnline(watched);
      await this.markDisconnected(watched.filter((id) => !online.has(id)));
    }
  }

  private async logoff(agentId: number): Promise<void> {
    try {
      await this.presence.logoff(agentId, 'grace');
      this.logger.log(`Agent ${agentId} logged off: no socket for ${this.config.presenceGraceSeconds}s`);
    } catch (err) {
      // Logged off meanwhile (by hand or by another instance's sweep).
      if (!(err instanceof DomainError && err.status === 409)) throw err;
    }
  }

  private markDisconnected(agentIds: number[]): Promise<void> {
    return this.sockets.allGone(agentIds);
  }
}

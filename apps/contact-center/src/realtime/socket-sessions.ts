import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Role } from '@cc/common';
import { TokenService } from '@cc/auth';
import { slicesInTurns } from './in-turns';
import { ClientSocket, SocketHub } from './server-events';

/** How often this instance re-checks the tokens of its open sockets (the contract allows 5 s). */
export const SESSION_CHECK_MS = 2000;
/**
 * Sockets judged per turn of the event loop: 10,000 sockets judged in one go held the loop for
 * tens of milliseconds every SESSION_CHECK_MS (every other socket's ack waited behind it).
 */
export const SOCKETS_PER_SLICE = 1000;

/**
 * Open sockets do not outlive their token (API.md section 10): each instance, every
 * SESSION_CHECK_MS, disconnects its own sockets whose token has expired, and those whose user
 * logged out, changed password or was deleted since the handshake (the stored token version,
 * read in one query per role and slice of SOCKETS_PER_SLICE sockets). Logout also disconnects at
 * once through the Redis adapter; this re-check is what still cuts the socket when Redis was
 * unreachable at that moment. While the database cannot be asked, revocations wait for the next
 * check; expiry never does.
 */
@Injectable()
export class SocketSessions implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SocketSessions');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly hub: SocketHub,
    private readonly tokens: TokenService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.check().finally(() => (this.running = null));
    }, SESSION_CHECK_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async check(now = Date.now(), perSlice = SOCKETS_PER_SLICE): Promise<void> {
    await slicesInTurns(this.hub.localSockets(), perSlice, (slice) => this.checkSlice(slice, now));
  }

  private async checkSlice(slice: readonly ClientSocket[], now: number): Promise<void> {
    const sockets = slice.filter((s) => s.connected && s.data?.user);
    const live: ClientSocket[] = [];
    for (const socket of sockets) {
      if ((socket.data.tokenExp ?? Infinity) * 1000 <= now) this.cut(socket, 'token expired');
      else live.push(socket);
    }
    const byRole = new Map<Role, Set<number>>();
    for (const s of live) {
      const set = byRole.get(s.data.user.role) ?? new Set<number>();
      set.add(s.data.user.id);
      byRole.set(s.data.user.role, set);
    }
    for (const [role, ids] of byRole) {
      let versions: Map<number, number>;
      try {
        versions = await this.tokens.currentVersions(role, [...ids]);
      } catch (err) {
        this.logger.warn(`Token re-check for ${role}s skipped: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      for (const s of live) {
        if (s.data.user.role !== role || s.data.tokenVersion === undefined) continue;
        if (versions.get(s.data.user.id) !== s.data.tokenVersion) this.cut(s, 'token revoked');
      }
    }
  }

  private cut(socket: ClientSocket, why: string): void {
    this.logger.debug?.(`Disconnecting ${socket.data.user.role} ${socket.data.user.id}: ${why}`);
    socket.disconnect(true);
  }
}

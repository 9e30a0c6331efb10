import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PresenceRepository } from './presence.repository';

/** What the real-time layer records about agents' sockets for the presence grace (API.md section 5). */
@Injectable()
export class SocketPresence {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: PresenceRepository,
  ) {}

  connected(agentId: number): Promise<void> {
    return this.repo.socketConnected(this.dataSource.manager, agentId);
  }

  async allGone(agentIds: number[]): Promise<void> {
    if (agentIds.length) await this.repo.socketsGone(this.dataSource.manager, agentIds);
  }

  graceExpired(graceSeconds: number): Promise<number[]> {
    return this.repo.graceExpired(this.dataSource.manager, graceSeconds);
  }

  believedConnected(): Promise<number[]> {
    return this.repo.believedConnected(this.dataSource.manager);
  }
}

import { Injectable } from '@nestjs/common';

/** Set once a graceful shutdown has begun: readiness answers 503 so load balancers stop sending. */
@Injectable()
export class ShutdownState {
  private stopping = false;

  get draining(): boolean {
    return this.stopping;
  }

  begin(): void {
    this.stopping = true;
  }
}

import { Injectable } from '@nestjs/common';

/** Set once a graceful shutdown has begun: readiness answers 503 so load balancers stop sending. */
@Injectable()
export class ShutdownState {
  private stopping = false;
  /** Sockets this instance closed itself while stopping (they are gone before the app closes). */
  socketsClosed = 0;

  get draining(): boolean {
    return this.stopping;
  }

  begin(): void {
    this.stopping = true;
  }
}

import { INestApplicationContext, Logger } from '@nestjs/common';
import { MessageMappingProperties } from '@nestjs/websockets';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { isObservable, lastValueFrom, Observable } from 'rxjs';
import { Server, ServerOptions } from 'socket.io';
import { RedisClients } from '../platform/redis-clients';

// The socket type of the socket.io copy that @nestjs/platform-socket.io builds the server with.
type NestSocket = Parameters<IoAdapter['bindMessageHandlers']>[0];

/** Socket.IO on the app's HTTP server; with REDIS_URL, rooms and broadcasts span every instance. */
export class RedisIoAdapter extends IoAdapter {
  private readonly logger = new Logger('SocketAdapter');
  private adapterConstructor: ReturnType<typeof createAdapter> | null = null;

  constructor(app: INestApplicationContext) {
    super(app);
  }

  async connect(clients: RedisClients): Promise<void> {
    const connections = await clients.connect();
    if (connections) this.adapterConstructor = createAdapter(connections.pub, connections.sub);
  }

  createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, { ...options, maxHttpBufferSize: 64 * 1024 });
    if (this.adapterConstructor) server.adapter(this.adapterConstructor);
    return server;
  }

  /**
   * The same contract as IoAdapter's (the handler's result, or its Observable's last value,
   * answers the ack), with plain listeners instead of an rxjs pipeline kept per socket and per
   * event: that pipeline was a sizeable part of each idle socket's memory and of each message's CPU.
   */
  bindMessageHandlers(socket: NestSocket, handlers: MessageMappingProperties[], _transform: (data: unknown) => Observable<unknown>): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        const { data, ack } = this.mapPayload(args.length > 1 ? args : args[0]);
        void this.run(callback, data, ack).then(
          (response) => {
            if (response === undefined || response === null) return;
            const emitted = response as { event?: string; data?: unknown };
            if (emitted.event) socket.emit(emitted.event, emitted.data);
            else if (!isAckHandledManually && typeof ack === 'function') ack(response);
          },
          (err) => this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err)),
        );
      });
    }
  }

  private async run(callback: (...args: unknown[]) => unknown, data: unknown, ack: unknown): Promise<unknown> {
    const result = await callback(data, ack);
    return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
  }
}

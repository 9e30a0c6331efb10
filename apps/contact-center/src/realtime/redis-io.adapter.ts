import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server, ServerOptions } from 'socket.io';
import { RedisClients } from './redis-clients';

/** Socket.IO on the app's HTTP server; with REDIS_URL, rooms and broadcasts span every instance. */
export class RedisIoAdapter extends IoAdapter {
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
}

import { Injectable } from '@nestjs/common';
import { Namespace, Server, Socket } from 'socket.io';
import { Principal } from '@cc/common';
import type { ServerEvent, ServerEventMap } from '@cc/protocol';

/** The event map is defined once, in `@cc/protocol`, for the server and every client. */
export type { ServerEvent, ServerEventMap } from '@cc/protocol';

export type SocketNamespace = '/agent' | '/customer';

/** Rooms are named by identity; `agent:*`, `admin:*` and `admins` live in `/agent`, `customer:*` in `/customer`. */
export type Room = `agent:${number}` | `admin:${number}` | `customer:${number}` | 'admins';

export const rooms = {
  agent: (id: number): Room => `agent:${id}`,
  /** The agent's room, or none for a conversation without an agent. */
  agentOf: (id: number | null | undefined): Room | null => (id ? `agent:${id}` : null),
  customer: (id: number): Room => `customer:${id}`,
  admins: 'admins' as Room,
  /** The rooms a socket of `user` joins. */
  of(user: Principal): Room[] {
    return user.role === 'admin' ? [`admin:${user.id}`, 'admins'] : [`${user.role}:${user.id}`];
  },
  user(user: Principal): Room {
    return `${user.role}:${user.id}`;
  },
};

export function namespaceOf(room: Room): SocketNamespace {
  return room.startsWith('customer:') ? '/customer' : '/agent';
}

/** What the handshake stores on every authenticated socket. */
export interface SocketData {
  user: Principal;
  [key: string]: unknown;
}

/**
 * The app's sockets as handlers see them. An interface (not the class) so that the validation
 * pipe, which looks at parameter types, leaves the socket parameter alone.
 */
export interface ClientSocket extends Socket {
  data: SocketData;
}

type Target = Room | readonly (Room | null | undefined | false)[] | ClientSocket;

/**
 * Owns the Socket.IO server: the one `send` through which payloads leave, plus the few
 * cluster-wide room operations (through the Redis adapter when it is configured).
 */
@Injectable()
export class SocketHub {
  private server: Server | null = null;

  attach(server: Server): void {
    this.server ??= server;
  }

  /** False until the gateways are up: nothing can be known about sockets before. */
  get attached(): boolean {
    return this.server !== null;
  }

  /**
   * Emits to one socket, or to every socket in any of the rooms on every instance. Rooms of one
   * namespace go out as one broadcast, so a socket in two of them gets the event once.
   * `exceptSocketId` leaves one socket out (on whichever instance it is).
   */
  send<K extends ServerEvent>(to: Target, event: K, payload: ServerEventMap[K], exceptSocketId?: string): void {
    if (isSocket(to)) {
      to.emit(event, payload);
      return;
    }
    if (!this.server) return;
    const list = (typeof to === 'string' ? [to] : to).filter((r): r is Room => !!r);
    for (const ns of ['/agent', '/customer'] as const) {
      const inNs = list.filter((r) => namespaceOf(r) === ns);
      if (!inNs.length) continue;
      const operator = this.server.of(ns).to(inNs);
      (exceptSocketId ? operator.except(exceptSocketId) : operator).emit(event, payload);
    }
  }

  /** Emits only to the sockets of `room` held by this instance (each instance serves its own, e.g. for per-instance polling). */
  sendLocal<K extends ServerEvent>(room: Room, event: K, payload: ServerEventMap[K]): void {
    this.namespace(namespaceOf(room))?.local.to(room).emit(event, payload);
  }

  /** True when this instance holds at least one socket in `room`. */
  hasLocal(room: Room): boolean {
    return (this.namespace(namespaceOf(room))?.adapter.rooms.get(room)?.size ?? 0) > 0;
  }

  /** Disconnects every socket in `room`, on every instance. */
  disconnect(room: Room): void {
    this.namespace(namespaceOf(room))?.in(room).disconnectSockets(true);
  }

  /** Ids of the agents among `agentIds` that have a socket on any instance. */
  async agentsOnline(agentIds: number[]): Promise<Set<number>> {
    const nsp = this.namespace('/agent');
    if (!nsp || !agentIds.length) return new Set();
    const sockets = await nsp.in(agentIds.map(rooms.agent)).fetchSockets();
    return new Set(sockets.map((s) => (s.data as SocketData).user).filter((u) => u?.role === 'agent').map((u) => u.id));
  }

  /** True when this instance itself holds a socket of the agent (no cluster round trip). */
  agentOnlineHere(agentId: number): boolean {
    return (this.namespace('/agent')?.adapter.rooms.get(rooms.agent(agentId))?.size ?? 0) > 0;
  }

  private namespace(ns: SocketNamespace): Namespace | null {
    return this.server?.of(ns) ?? null;
  }
}

function isSocket(to: Target): to is ClientSocket {
  return typeof to === 'object' && !Array.isArray(to) && 'emit' in to;
}

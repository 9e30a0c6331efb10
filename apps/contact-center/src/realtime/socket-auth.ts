import { Logger } from '@nestjs/common';
import { ExtendedError, Socket } from 'socket.io';
import { DomainError, Role } from '@cc/common';
import { TokenService } from '@cc/auth';
import { rooms, SocketData } from './server-events';

const logger = new Logger('SocketAuth');

/**
 * Namespace middleware: verifies `handshake.auth.token` with the same token service as HTTP
 * (signature, expiry, user still exists, not logged out) and the role the namespace admits.
 * The socket joins its rooms here, before it counts as connected, so no event addressed to its
 * user can slip past it. Guards do not run on connection, hence a middleware.
 */
export function socketAuth(tokens: TokenService, roles: readonly Role[]) {
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const token: unknown = socket.handshake.auth?.token;
    tokens.verifySession(typeof token === 'string' ? token : null).then(
      ({ user, exp, tv }) => {
        if (!roles.includes(user.role)) return next(new Error('unauthorized'));
        socket.data = { user, tokenExp: exp, tokenVersion: tv } satisfies SocketData;
        void socket.join(rooms.of(user));
        next();
      },
      (err) => {
        if (err instanceof DomainError && err.status === 401) return next(new Error('unauthorized'));
        // Not the client's fault (e.g. the database is down): it may retry.
        logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
        next(new Error('unavailable'));
      },
    );
  };
}

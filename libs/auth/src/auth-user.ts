import { Role } from '@cc/common';

/** The authenticated caller, as the JWT strategy and the socket handshake resolve it. */
export interface AuthUser {
  role: Role;
  id: number;
  /** Authenticated with an API key: its id and role (an admin key acts as an admin; a connector key is refused outside the connector routes). */
  apiKeyId?: number;
  apiKeyRole?: 'admin' | 'connector';
}

export interface TokenPayload {
  sub: number;
  role: Role;
  /** Token version: a logout bumps the stored version and so revokes every earlier token. */
  tv: number;
}

export const TABLE_OF_ROLE: Record<Role, string> = { admin: 'admins', agent: 'agents', customer: 'customers' };

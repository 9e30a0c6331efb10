import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, Role, UnauthorizedError } from '@cc/common';
import { AgentsRepository } from '@cc/agents';
import { AuthUser, TokenPayload } from './auth-user';
import { AuthRepository } from './auth.repository';
import { TokenVersionCache } from './token-version-cache';

const ROLES: Role[] = ['admin', 'agent', 'customer'];

/** Issues and checks access tokens; the HTTP strategy and the socket handshake both use it. */
@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly dataSource: DataSource,
    private readonly repo: AuthRepository,
    private readonly agents: AgentsRepository,
    private readonly cache: TokenVersionCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(role: Role, id: number, tokenVersion: number): Promise<{ accessToken: string; tokenType: 'Bearer'; expiresIn: number }> {
    const payload: TokenPayload = { sub: id, role, tv: tokenVersion };
    const accessToken = await this.jwt.signAsync(payload, { expiresIn: this.config.jwtExpiresIn });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.jwtExpiresIn };
  }

  /** Verifies signature and expiry, then that the user still exists and has not logged out since. */
  async verify(token: string | undefined | null): Promise<AuthUser> {
    return (await this.verifySession(token)).user;
  }

  /** Like verify, with what a long-lived connection must re-check later: expiry (seconds) and token version. */
  async verifySession(token: string | undefined | null): Promise<{ user: AuthUser; exp: number; tv: number }> {
    if (!token) throw new UnauthorizedError();
    let payload: TokenPayload & { exp?: number };
    try {
      payload = await this.jwt.verifyAsync<TokenPayload & { exp?: number }>(token);
    } catch {
      throw new UnauthorizedError();
    }
    const user = await this.check(payload);
    return { user, exp: payload.exp ?? Infinity, tv: payload.tv };
  }

  /** The current token version of each of `ids` of one role; a missing id is a deleted user. */
  async currentVersions(role: Role, ids: number[]): Promise<Map<number, number>> {
    const versions = await this.cache.versions(role, ids, (missing) => this.repo.tokenVersions(this.dataSource.manager, role, missing));
    return new Map([...versions].filter((entry): entry is [number, number] => entry[1] !== null));
  }

  async check(payload: TokenPayload): Promise<AuthUser> {
    if (!ROLES.includes(payload?.role) || !Number.isInteger(payload.sub)) throw new UnauthorizedError();
    const version = (await this.currentVersions(payload.role, [payload.sub])).get(payload.sub) ?? null;
    if (version === null || version !== payload.tv) throw new UnauthorizedError();
    return { role: payload.role, id: payload.sub };
  }

  async revokeAll(user: AuthUser): Promise<void> {
    if (user.role === 'agent') await this.agents.bumpTokenVersion(this.dataSource.manager, user.id);
    else await this.repo.bumpTokenVersion(this.dataSource.manager, user.role, user.id);
  }
}

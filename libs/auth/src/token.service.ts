import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, Role, UnauthorizedError } from '@cc/common';
import { AuthUser, TABLE_OF_ROLE, TokenPayload } from './auth-user';

const ROLES: Role[] = ['admin', 'agent', 'customer'];

/** Issues and checks access tokens; the HTTP strategy and the socket handshake both use it. */
@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(role: Role, id: number, tokenVersion: number): Promise<{ accessToken: string; tokenType: 'Bearer'; expiresIn: number }> {
    const payload: TokenPayload = { sub: id, role, tv: tokenVersion };
    const accessToken = await this.jwt.signAsync(payload, { expiresIn: this.config.jwtExpiresIn });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.jwtExpiresIn };
  }

  /** Verifies signature and expiry, then that the user still exists and has not logged out since. */
  async verify(token: string | undefined | null): Promise<AuthUser> {
    if (!token) throw new UnauthorizedError();
    let payload: TokenPayload;
    try {
      payload = await this.jwt.verifyAsync<TokenPayload>(token);
    } catch {
      throw new UnauthorizedError();
    }
    return this.check(payload);
  }

  async check(payload: TokenPayload): Promise<AuthUser> {
    if (!ROLES.includes(payload?.role) || !Number.isInteger(payload.sub)) throw new UnauthorizedError();
    const rows: { token_version: number }[] = await this.dataSource.query(
      `SELECT token_version FROM ${TABLE_OF_ROLE[payload.role]} WHERE id = $1`,
      [payload.sub],
    );
    if (!rows.length || rows[0].token_version !== payload.tv) throw new UnauthorizedError();
    return { role: payload.role, id: payload.sub };
  }

  async revokeAll(user: AuthUser): Promise<void> {
    await this.dataSource.query(`UPDATE ${TABLE_OF_ROLE[user.role]} SET token_version = token_version + 1 WHERE id = $1`, [user.id]);
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Access, APP_CONFIG, AppConfig, DomainEvents, Errors, ForbiddenError, InvalidError, NotFoundError, PasswordHasher, Role, UnauthorizedError } from '@cc/common';
import { Agent } from '@cc/agents';
import type { CustomerView, UserView } from '@cc/protocol';
import { AuthUser } from './auth-user';
import { AuthRepository, CustomerRow } from './auth.repository';
import { CustomerSessionDto, LoginDto } from './auth.dto';
import { TokenService } from './token.service';

export type { CustomerView, UserView } from '@cc/protocol';

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: AuthRepository,
    private readonly tokens: TokenService,
    private readonly hasher: PasswordHasher,
    private readonly events: DomainEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD when there is none (safe with several instances). */
  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail, adminPassword } = this.config;
    if (!adminEmail || !adminPassword) return;
    if (await this.repo.anyAdmin(this.dataSource.manager)) return;
    const hash = await this.hasher.hash(adminPassword);
    if (await this.repo.createFirstAdmin(this.dataSource.manager, adminEmail.toLowerCase(), hash)) this.logger.log(`Created the first admin ${adminEmail}`);
  }

  async login(dto: LoginDto) {
    const email = dto.email.trim().toLowerCase();
    const admin = await this.repo.credentials(this.dataSource.manager, 'admin', email);
    const agent = admin ? null : await this.repo.credentials(this.dataSource.manager, 'agent', email);
    const user = admin ?? agent;
    const ok = await this.hasher.verify(dto.password, user?.password_hash ?? null);
    if (!user || !ok) throw Errors.invalidCredentials();
    const role: Role = admin ? 'admin' : 'agent';
    const token = await this.tokens.issue(role, user.id, user.token_version);
    return { ...token, user: { id: user.id, role, name: user.name, email: user.email } };
  }

  async logout(user: AuthUser): Promise<void> {
    await this.tokens.revokeAll(user);
    this.events.publish('auth.logged-out', { role: user.role, userId: user.id });
  }

  async me(user: AuthUser): Promise<UserView> {
    if (user.apiKeyId !== undefined) return { id: user.apiKeyId, role: user.role, name: 'API key', email: null };
    if (user.role === 'customer') {
      const customer = await this.repo.customer(this.dataSource.manager, user.id);
      if (!customer) throw new UnauthorizedError();
      return { ...this.customerView(customer), role: 'customer' };
    }
    const found = await this.repo.user(this.dataSource.manager, user.role, user.id);
    if (!found) throw new UnauthorizedError();
    return { id: found.id, role: user.role, name: found.name, email: found.email };
  }

  async customerSession(dto: CustomerSessionDto, caller: AuthUser | undefined) {
    Access.requireAdminIfAuthenticated(caller, 'Only an admin may create a session for another customer');
    if (dto.identityHash && !dto.externalId) throw new InvalidError('identityHash requires externalId');
    let customer: CustomerRow;
    if (dto.externalId === undefined) {
      customer = await this.repo.createAnonymousCustomer(this.dataSource.manager, dto.name ?? null, dto.email ?? null);
    } else {
      if (caller?.role !== 'admin') this.verifyIdentity(dto.externalId, dto.identityHash);
      const id = await this.repo.upsertIdentifiedCustomer(this.dataSource.manager, dto.externalId, dto.name ?? null, dto.email ?? null);
      const found = await this.repo.customer(this.dataSource.manager, id);
      if (!found) throw new NotFoundError('NoSuchCustomer', 'No such customer');
      customer = found;
    }
    const { accessToken, tokenType, expiresIn } = await this.tokens.issue('customer', customer.id, customer.token_version);
    return { accessToken, tokenType, expiresIn, customer: this.customerView(customer) };
  }

  /** A new customer without an externalId of ours (a channel connector's end user), in the caller's transaction. */
  async createCustomer(manager: EntityManager, name: string | null, email: string | null): Promise<CustomerView> {
    const row = await this.repo.createAnonymousCustomer(manager, name, email);
    return { id: row.id, name: row.name, email: row.email, externalId: row.external_id };
  }

  private verifyIdentity(externalId: string, identityHash: string | undefined): void {
    const secret = this.config.customerIdentitySecret;
    if (!secret || !identityHash) throw new UnauthorizedError('Invalid identity hash');
    const expected = createHmac('sha256', secret).update(externalId).digest();
    const given = Buffer.from(identityHash, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError('Invalid identity hash');
  }

  /** A customer's profile (callers check first that the reader may see it). */
  async customer(id: number): Promise<CustomerView> {
    const found = await this.repo.customer(this.dataSource.manager, id);
    if (!found) throw new NotFoundError('NoSuchCustomer', 'No such customer');
    return this.customerView(found);
  }

  private customerView(c: CustomerRow): CustomerView {
    return { id: c.id, name: c.name, email: c.email, externalId: c.external_id };
  }
}

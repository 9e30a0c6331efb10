import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHmac, timingSafeEqual } from 'crypto';
import { DataSource, Repository } from 'typeorm';
import { APP_CONFIG, AppConfig, DomainEvents, Errors, ForbiddenError, InvalidError, NotFoundError, PasswordHasher, Role, UnauthorizedError } from '@cc/common';
import { Agent } from '@cc/agents';
import type { CustomerView, UserView } from '@cc/protocol';
import { Admin } from './admin.entity';
import { AuthUser } from './auth-user';
import { CustomerSessionDto, LoginDto } from './auth.dto';
import { Customer } from './customer.entity';
import { TokenService } from './token.service';

export type { CustomerView, UserView } from '@cc/protocol';

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    @InjectRepository(Admin) private readonly admins: Repository<Admin>,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @InjectRepository(Customer) private readonly customers: Repository<Customer>,
    private readonly dataSource: DataSource,
    private readonly tokens: TokenService,
    private readonly hasher: PasswordHasher,
    private readonly events: DomainEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD when there is none (safe with several instances). */
  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail, adminPassword } = this.config;
    if (!adminEmail || !adminPassword) return;
    if (await this.admins.exist()) return;
    const hash = await this.hasher.hash(adminPassword);
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO admins (email, name, password_hash)
       SELECT $1, 'Administrator', $2 WHERE NOT EXISTS (SELECT 1 FROM admins)
       ON CONFLICT (email) DO NOTHING RETURNING id`,
      [adminEmail.toLowerCase(), hash],
    );
    if (inserted.length) this.logger.log(`Created the first admin ${adminEmail}`);
  }

  async login(dto: LoginDto) {
    const email = dto.email.trim().toLowerCase();
    const admin = await this.admins.createQueryBuilder('a').addSelect('a.passwordHash').where('lower(a.email) = :email', { email }).getOne();
    const agent = admin
      ? null
      : await this.agents.createQueryBuilder('a').addSelect('a.passwordHash').where('lower(a.email) = :email', { email }).getOne();
    const user = admin ?? agent;
    const ok = await this.hasher.verify(dto.password, user?.passwordHash ?? null);
    if (!user || !ok) throw Errors.invalidCredentials();
    const role: Role = admin ? 'admin' : 'agent';
    const token = await this.tokens.issue(role, user.id, user.tokenVersion);
    return { ...token, user: { id: user.id, role, name: user.name, email: user.email } };
  }

  async logout(user: AuthUser): Promise<void> {
    await this.tokens.revokeAll(user);
    this.events.publish('auth.logged-out', { role: user.role, userId: user.id });
  }

  async me(user: AuthUser): Promise<UserView> {
    if (user.role === 'customer') {
      const customer = await this.customers.findOneBy({ id: user.id });
      if (!customer) throw new UnauthorizedError();
      return { ...this.customerView(customer), role: 'customer' };
    }
    const found = user.role === 'admin' ? await this.admins.findOneBy({ id: user.id }) : await this.agents.findOneBy({ id: user.id });
    if (!found) throw new UnauthorizedError();
    return { id: found.id, role: user.role, name: found.name, email: found.email };
  }

  async customerSession(dto: CustomerSessionDto, caller: AuthUser | undefined) {
    if (caller && caller.role !== 'admin') throw new ForbiddenError('Only an admin may create a session for another customer');
    if (dto.identityHash && !dto.externalId) throw new InvalidError('identityHash requires externalId');
    let customer: Customer;
    if (dto.externalId === undefined) {
      customer = await this.customers.save(this.customers.create({ name: dto.name ?? null, email: dto.email ?? null, tokenVersion: 0 }));
    } else {
      if (caller?.role !== 'admin') this.verifyIdentity(dto.externalId, dto.identityHash);
      // Get-or-create in one statement, so concurrent sessions for one externalId give one customer.
      const rows: { id: number }[] = await this.dataSource.query(
        `INSERT INTO customers (external_id, name, email) VALUES ($1, $2, $3)
         ON CONFLICT (external_id) DO UPDATE
           SET name = coalesce(EXCLUDED.name, customers.name), email = coalesce(EXCLUDED.email, customers.email), updated_at = now()
         RETURNING id`,
        [dto.externalId, dto.name ?? null, dto.email ?? null],
      );
      const found = await this.customers.findOneBy({ id: rows[0].id });
      if (!found) throw new NotFoundError('NoSuchCustomer', 'No such customer');
      customer = found;
    }
    const { accessToken, tokenType, expiresIn } = await this.tokens.issue('customer', customer.id, customer.tokenVersion);
    return { accessToken, tokenType, expiresIn, customer: this.customerView(customer) };
  }

  private verifyIdentity(externalId: string, identityHash: string | undefined): void {
    const secret = this.config.customerIdentitySecret;
    if (!secret || !identityHash) throw new UnauthorizedError('Invalid identity hash');
    const expected = createHmac('sha256', secret).update(externalId).digest();
    const given = Buffer.from(identityHash, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError('Invalid identity hash');
  }

  private customerView(c: Customer): CustomerView {
    return { id: c.id, name: c.name, email: c.email, externalId: c.externalId };
  }
}

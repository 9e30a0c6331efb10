import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrors, DomainError, ForbiddenError, Role, UnauthorizedError } from '@cc/common';
import { AuthUser } from './auth-user';
import { ApiKeysService, isApiKey } from './api-keys.service';

const ROLES_KEY = 'cc:roles';
const CONNECTOR_KEY = 'cc:connector-allowed';

/** Routes a connector API key may call (API.md section 14: /channels/... and POST /customers/session). */
export const ConnectorAllowed = () => SetMetadata(CONNECTOR_KEY, true);

/** `Bearer <JWT>` or `Bearer <API key>`: either authenticates the request. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly reflector: Reflector,
  ) {
    super();
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest();
    const header: unknown = request.headers?.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (match && isApiKey(match[1])) request.user = await this.apiKeys.authenticate(match[1]);
    else await super.canActivate(context);
    const user: AuthUser | undefined = request.user;
    if (user?.apiKeyRole === 'connector' && !this.reflector.getAllAndOverride<boolean>(CONNECTOR_KEY, [context.getHandler(), context.getClass()])) {
      throw new ForbiddenError('A connector key may only call /channels/... and POST /customers/session');
    }
    return true;
  }

  handleRequest<T>(err: unknown, user: T): T {
    if (err instanceof DomainError) throw err;
    if (err || !user) throw new UnauthorizedError();
    return user;
  }
}

/** Authenticates when an Authorization header is present (and then it must be valid); else lets the request through anonymously. */
@Injectable()
export class OptionalJwtAuthGuard extends JwtAuthGuard {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest();
    if (!request.headers?.authorization) return true;
    return super.canActivate(context);
  }
}

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles?.length) return true;
    const user: AuthUser | undefined = context.switchToHttp().getRequest().user;
    if (!user) throw new UnauthorizedError();
    if (!roles.includes(user.role)) throw new ForbiddenError();
    return true;
  }
}

/** Route needs a valid token whose role is one of `roles` (any role when none are named); documents 401 and 403. */
export function Auth(...roles: Role[]) {
  return applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    UseGuards(JwtAuthGuard, RolesGuard),
    ApiBearerAuth(),
    ApiErrors(roles.length ? { 401: true, 403: `Allowed for: ${roles.join(', ')}` } : { 401: true }),
  );
}

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => ctx.switchToHttp().getRequest().user);

import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthUser } from '@cc/auth';
import { SenderMessageRateLimit } from '../../platform/message-rate-limit';

/** MESSAGE_RATE_LIMIT on `POST /conversations/:id/messages`, per sender; runs after the auth guards. */
@Injectable()
export class HttpMessageRateLimitGuard implements CanActivate {
  constructor(private readonly limits: SenderMessageRateLimit) {}

  canActivate(context: ExecutionContext): boolean {
    const user: AuthUser | undefined = context.switchToHttp().getRequest().user;
    if (user) this.limits.take(`${user.role}:${user.id}`);
    return true;
  }
}

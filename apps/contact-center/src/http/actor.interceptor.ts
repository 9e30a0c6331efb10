import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { actorOf, Principal, runAs } from '@cc/common';

/**
 * Serves each authenticated HTTP request as its caller, so that changes made by code that is
 * not handed a principal (presence commands) name the right actor in their events.
 */
@Injectable()
export class ActorInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const user: Principal | undefined = context.switchToHttp().getRequest().user;
    if (!user) return next.handle();
    return new Observable((subscriber) => runAs(actorOf(user), () => next.handle().subscribe(subscriber)));
  }
}

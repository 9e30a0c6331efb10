import { BadRequestException, createParamDecorator, ExecutionContext, PipeTransform } from '@nestjs/common';
import { MAX_ID } from '@cc/common';
import { AgentRef } from '@cc/presence';

export function parseId(value: string, name = 'id'): number {
  const id = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(id >= 1 && id <= MAX_ID)) throw new BadRequestException([`${name} must be a positive integer`]);
  return id;
}

/** `:id` as a positive integer (ids are PostgreSQL integers): anything else is a 400, never a database error. */
export class ParseIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    return parseId(value);
  }
}

/** The agent of `/agents/:id/...` or `/agents/by-number/:number/...`. */
export const AgentRefParam = createParamDecorator((_: unknown, ctx: ExecutionContext): AgentRef => {
  const params: { id?: string; number?: string } = ctx.switchToHttp().getRequest().params;
  return params.number !== undefined ? { number: params.number } : { id: parseId(params.id ?? '') };
});

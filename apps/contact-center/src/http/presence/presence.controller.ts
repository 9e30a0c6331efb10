import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PaginationQuery } from '@cc/common';
import { Auth, AuthUser, CurrentUser } from '@cc/auth';
import { AgentRef, PauseReasonsService, PresenceService } from '@cc/presence';
import { AgentRefParam } from '../agents/parse-id';
import { CreatePauseReasonDto, LoginDto, PauseDto, WrapUpDto } from './dto/presence.dto';

/** Every per-agent route exists by id and by number; an agent may use them on itself. */
const byIdAndNumber = (action: string) => [`:id/${action}`, `by-number/:number/${action}`];

@ApiTags('presence')
@Controller('agents')
export class PresenceController {
  constructor(private readonly presence: PresenceService) {}

  @Get('statuses')
  @Auth('admin')
  statuses() {
    return this.presence.statusViews();
  }

  @Post('logoff-all')
  @HttpCode(200)
  @Auth('admin')
  logoffAll() {
    return this.presence.logoffAll();
  }

  /** Logs every logged-in agent off and on again on the same device; they keep their conversations. */
  @Post('relog-all')
  @HttpCode(200)
  @Auth('admin')
  relogAll() {
    return this.presence.relogAll();
  }

  @Post(byIdAndNumber('login'))
  @HttpCode(200)
  @Auth('admin', 'agent')
  async login(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: LoginDto) {
    return this.presence.login(await this.presence.resolve(ref, user), dto);
  }

  @Post(byIdAndNumber('logoff'))
  @HttpCode(200)
  @Auth('admin', 'agent')
  async logoff(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
    return this.presence.logoff(await this.presence.resolve(ref, user));
  }

  @Post(byIdAndNumber('pause'))
  @HttpCode(200)
  @Auth('admin', 'agent')
  async pause(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: PauseDto) {
    return this.presence.pause(await this.presence.resolve(ref, user), dto.reasonId);
  }

  @Post(byIdAndNumber('unpause'))
  @HttpCode(200)
  @Auth('admin', 'agent')
  async unpause(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
    return this.presence.unpause(await this.presence.resolve(ref, user));
  }

  @Post(byIdAndNumber('wrap-up'))
  @HttpCode(200)
  @Auth('admin', 'agent')
  async wrapUp(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: WrapUpDto) {
    return this.presence.wrapUp(await this.presence.resolve(ref, user), dto.seconds);
  }

  @Get(byIdAndNumber('status'))
  @Auth('admin', 'agent')
  async status(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
    return this.presence.status(await this.presence.resolve(ref, user));
  }
}

@ApiTags('presence')
@Controller('pause-reasons')
export class PauseReasonsController {
  constructor(private readonly reasons: PauseReasonsService) {}

  @Get()
  @Auth('admin', 'agent')
  list(@Query() query: PaginationQuery) {
    return this.reasons.list(query);
  }

  @Post()
  @Auth('admin')
  create(@Body() dto: CreatePauseReasonDto) {
    return this.reasons.create(dto.name);
  }
}

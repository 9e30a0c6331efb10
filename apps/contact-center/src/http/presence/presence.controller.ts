import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiParam, ApiTags } from '@nestjs/swagger';
import { PaginationQuery } from '@cc/common';
import { Auth, AuthUser, CurrentUser } from '@cc/auth';
import { AgentRef, PauseReasonsService, PresenceService } from '@cc/presence';
import { AgentRefParam } from '../parse-id';
import { CreatePauseReasonDto, LoginDto, PauseDto, WrapUpDto } from './dto/presence.dto';

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
}

/**
 * The per-agent presence routes, mounted twice: by id and by number (a class each, so that each
 * documents its own path parameter). An agent may use them on itself: `PresenceService.resolve` decides.
 */
function agentPresenceRoutes(param: 'id' | 'number') {
  @ApiTags('presence')
  @ApiParam(param === 'id' ? { name: 'id', type: Number } : { name: 'number', type: String, description: 'The agent number' })
  @Controller(param === 'id' ? 'agents/:id' : 'agents/by-number/:number')
  class AgentPresenceRoutes {
    constructor(readonly presence: PresenceService) {}

    @Post('login')
    @HttpCode(200)
    @Auth('admin', 'agent')
    async login(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: LoginDto) {
      return this.presence.login(await this.presence.resolve(ref, user), dto);
    }

    @Post('logoff')
    @HttpCode(200)
    @Auth('admin', 'agent')
    async logoff(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
      return this.presence.logoff(await this.presence.resolve(ref, user));
    }

    @Post('pause')
    @HttpCode(200)
    @Auth('admin', 'agent')
    async pause(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: PauseDto) {
      return this.presence.pause(await this.presence.resolve(ref, user), dto.reasonId);
    }

    @Post('unpause')
    @HttpCode(200)
    @Auth('admin', 'agent')
    async unpause(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
      return this.presence.unpause(await this.presence.resolve(ref, user));
    }

    @Post('wrap-up')
    @HttpCode(200)
    @Auth('admin', 'agent')
    async wrapUp(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: WrapUpDto) {
      return this.presence.wrapUp(await this.presence.resolve(ref, user), dto.seconds);
    }

    @Get('status')
    @Auth('admin', 'agent')
    async status(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
      return this.presence.status(await this.presence.resolve(ref, user));
    }
  }
  return AgentPresenceRoutes;
}

export class PresenceByIdController extends agentPresenceRoutes('id') {}
export class PresenceByNumberController extends agentPresenceRoutes('number') {}

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

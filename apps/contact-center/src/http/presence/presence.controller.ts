import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiPage, PaginationQuery } from '@cc/common';
import { Affected, AgentStatus, PauseReason } from '../../api-docs/schemas.dto';
import { Auth, AuthUser, CurrentUser } from '@cc/auth';
import { AgentRef, PauseReasonsService, PresenceService } from '@cc/presence';
import { AgentRefParam } from '../parse-id';
import { AgentLoginDto, CreatePauseReasonDto, PauseDto, WrapUpDto } from './dto/presence.dto';

@ApiTags('presence')
@Controller('agents')
export class PresenceController {
  constructor(private readonly presence: PresenceService) {}

  @Get('statuses')
  @Auth('admin')
  @ApiOperation({ summary: 'Every agent\'s status' })
  @ApiResponse({ status: 200, type: [AgentStatus] })
  statuses() {
    return this.presence.statusViews();
  }

  @Post('logoff-all')
  @HttpCode(200)
  @Auth('admin')
  @ApiOperation({ summary: 'Log every logged-in agent off', description: 'Their active conversations go back to the waiting line, as on each logoff.' })
  @ApiResponse({ status: 200, type: Affected })
  logoffAll() {
    return this.presence.logoffAll();
  }

  /** Logs every logged-in agent off and on again on the same device; they keep their conversations. */
  @Post('relog-all')
  @HttpCode(200)
  @Auth('admin')
  @ApiOperation({ summary: 'Log every logged-in agent off and on again', description: 'Same device; pause and wrap-up are cleared; conversations are kept.' })
  @ApiResponse({ status: 200, type: Affected })
  relogAll() {
    return this.presence.relogAll();
  }
}

/**
 * The per-agent presence routes, mounted twice: by id and by number (a class each, so that each
 * documents its own path parameter). An agent may use them on itself: `PresenceService.resolve` decides.
 */
function agentPresenceRoutes(param: 'id' | 'number') {
  const by = param === 'id' ? 'by id' : 'by number';
  @ApiTags('presence')
  @ApiParam(param === 'id' ? { name: 'id', type: Number } : { name: 'number', type: String, description: 'The agent number' })
  @Controller(param === 'id' ? 'agents/:id' : 'agents/by-number/:number')
  class AgentPresenceRoutes {
    constructor(readonly presence: PresenceService) {}

    @Post('login')
    @HttpCode(200)
    @Auth('admin', 'agent')
    @ApiOperation({
      summary: `Log the agent in (${by})`,
      description: 'On the device `extension@context` (none: an app-only login). Already logged in: 200, device updated. `force` logs off whichever agent holds the device.',
    })
    @ApiBody({ type: AgentLoginDto, examples: { phone: { value: { extension: '2001', context: 'office' } }, app: { value: {} } } })
    @ApiResponse({ status: 200, type: AgentStatus })
    @ApiErrors({ 403: 'An agent naming another agent (or an unknown number)', 404: 'No such agent', 409: 'Device in use by another agent (`agentId` names it), unless `force`' })
    async login(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: AgentLoginDto) {
      return this.presence.login(await this.presence.resolve(ref, user), dto);
    }

    @Post('logoff')
    @HttpCode(200)
    @Auth('admin', 'agent')
    @ApiOperation({ summary: `Log the agent off (${by})`, description: 'Its active conversations go back to the front of the waiting line.' })
    @ApiResponse({ status: 200, type: AgentStatus })
    @ApiErrors({ 403: 'An agent naming another agent (or an unknown number)', 404: 'No such agent', 409: 'Agent not logged in' })
    async logoff(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
      return this.presence.logoff(await this.presence.resolve(ref, user));
    }

    @Post('pause')
    @HttpCode(200)
    @Auth('admin', 'agent')
    @ApiOperation({ summary: `Pause the agent (${by})`, description: '`reasonId` optional; `reasonId: 0` means available (unpause). Pausing a paused agent changes its reason.' })
    @ApiResponse({ status: 200, type: AgentStatus })
    @ApiErrors({ 403: 'An agent naming another agent (or an unknown number)', 404: 'No such agent, or No such pause reason', 409: 'Agent not logged in' })
    async pause(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: PauseDto) {
      return this.presence.pause(await this.presence.resolve(ref, user), dto.reasonId);
    }

    @Post('unpause')
    @HttpCode(200)
    @Auth('admin', 'agent')
    @ApiOperation({ summary: `Unpause the agent (${by})` })
    @ApiResponse({ status: 200, type: AgentStatus })
    @ApiErrors({ 403: 'An agent naming another agent (or an unknown number)', 404: 'No such agent', 409: 'Agent not logged in' })
    async unpause(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser) {
      return this.presence.unpause(await this.presence.resolve(ref, user));
    }

    @Post('wrap-up')
    @HttpCode(200)
    @Auth('admin', 'agent')
    @ApiOperation({ summary: `Start or end the agent's wrap-up (${by})`, description: 'Ends `seconds` from now (0: now); omitted, the agent\'s own `wrapUpSeconds`.' })
    @ApiResponse({ status: 200, type: AgentStatus })
    @ApiErrors({ 403: 'An agent naming another agent (or an unknown number)', 404: 'No such agent', 409: 'Agent not logged in' })
    async wrapUp(@AgentRefParam() ref: AgentRef, @CurrentUser() user: AuthUser, @Body() dto: WrapUpDto) {
      return this.presence.wrapUp(await this.presence.resolve(ref, user), dto.seconds);
    }

    @Get('status')
    @Auth('admin', 'agent')
    @ApiOperation({ summary: `The agent's status (${by})` })
    @ApiResponse({ status: 200, type: AgentStatus })
    @ApiErrors({ 403: 'An agent naming another agent (or an unknown number)', 404: 'No such agent' })
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
  @ApiOperation({ summary: 'List pause reasons' })
  @ApiPage(PauseReason)
  list(@Query() query: PaginationQuery) {
    return this.reasons.list(query);
  }

  @Post()
  @Auth('admin')
  @ApiOperation({ summary: 'Create a pause reason' })
  @ApiBody({ type: CreatePauseReasonDto, examples: { lunch: { value: { name: 'Lunch' } } } })
  @ApiResponse({ status: 201, type: PauseReason })
  @ApiErrors({ 409: 'Pause reason already exists' })
  create(@Body() dto: CreatePauseReasonDto) {
    return this.reasons.create(dto.name);
  }
}

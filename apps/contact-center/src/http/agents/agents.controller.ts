import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiPage } from '@cc/common';
import { Agent, AgentQueues } from '../../api-docs/schemas.dto';
import type { Response } from 'express';
import { AgentsService } from '@cc/agents';
import { Auth, AuthUser, CurrentUser } from '@cc/auth';
import { CreateAgentDto, ListAgentsQuery, SetQueuesDto, UpdateAgentDto } from './dto/agent.dto';
import { ParseIdPipe } from '../parse-id';

const AGENT_EXAMPLE = { email: 'ann@example.com', name: 'Ann', password: 'change-me', number: '1001', skills: ['web', 'wa'], maxConcurrent: 3 };

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post()
  @Auth('admin')
  @ApiOperation({ summary: 'Create an agent', description: 'Without `queueIds` the agent joins the `default` queue.' })
  @ApiBody({ type: CreateAgentDto, examples: { agent: { value: AGENT_EXAMPLE } } })
  @ApiResponse({ status: 201, type: Agent, description: 'Created' })
  @ApiErrors({ 404: 'No such queue (in `queueIds`)', 409: 'Email already in use, or Number already in use' })
  create(@Body() dto: CreateAgentDto) {
    return this.agents.create(dto);
  }

  /** 200 with the existing agent of that email (unchanged), or 201 with a new one. */
  @Post('get-or-create')
  @Auth('admin')
  @ApiOperation({ summary: 'Get the agent with this email, or create it', description: 'Safe under concurrent calls: one agent, never two.' })
  @ApiBody({ type: CreateAgentDto, examples: { agent: { value: AGENT_EXAMPLE } } })
  @ApiResponse({ status: 200, type: Agent, description: 'The existing agent with that email, unchanged' })
  @ApiResponse({ status: 201, type: Agent, description: 'A new agent' })
  @ApiErrors({ 404: 'No such queue (in `queueIds`)', 409: 'Number already in use' })
  async getOrCreate(@Body() dto: CreateAgentDto, @Res({ passthrough: true }) res: Response) {
    const { agent, created } = await this.agents.getOrCreate(dto);
    res.status(created ? 201 : 200);
    return agent;
  }

  @Get()
  @Auth('admin')
  @ApiOperation({ summary: 'List agents (with stats and status)', description: '`q`: substring of name, email or number; `skill`: agents serving that channel; `state`: derived state.' })
  @ApiPage(Agent)
  async list(@Query() query: ListAgentsQuery, @Res({ passthrough: true }) res: Response) {
    // JSON text built by PostgreSQL, sent as it is (the headers, ETag included, as res.json gives them).
    const body = await this.agents.listJson(query);
    res.type('application/json');
    return body;
  }

  @Get('me')
  @Auth('agent')
  @ApiOperation({ summary: 'The calling agent\'s own record' })
  @ApiResponse({ status: 200, type: Agent })
  me(@CurrentUser() user: AuthUser) {
    return this.agents.get(user.id);
  }

  @Get(':id')
  @Auth('admin', 'agent')
  @ApiOperation({ summary: 'Read an agent', description: 'An agent may read only its own record (403 for another).' })
  @ApiResponse({ status: 200, type: Agent })
  @ApiErrors({ 404: 'No such agent' })
  get(@Param('id', ParseIdPipe) id: number, @CurrentUser() user: AuthUser) {
    return this.agents.get(id, user);
  }

  @Patch(':id')
  @Auth('admin')
  @ApiOperation({ summary: 'Change an agent', description: 'Any field of POST /agents, all optional; `null` clears `number`, `manualStatus` and `phoneNumber`.' })
  @ApiResponse({ status: 200, type: Agent })
  @ApiErrors({ 404: 'No such agent, or No such queue', 409: 'Email already in use, or Number already in use' })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateAgentDto) {
    return this.agents.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Auth('admin')
  @ApiOperation({ summary: 'Delete an agent', description: 'Its active conversations go back to the waiting line; its sockets are disconnected.' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors({ 404: 'No such agent' })
  remove(@Param('id', ParseIdPipe) id: number) {
    return this.agents.remove(id);
  }

  /** Replaces the agent's queues (an agent may set its own). */
  @Put(':id/queues')
  @Auth('admin', 'agent')
  @ApiOperation({ summary: 'Replace the agent\'s queues', description: 'An agent may set its own queues.' })
  @ApiResponse({ status: 200, type: AgentQueues })
  @ApiErrors({ 404: 'No such agent, or No such queue' })
  setQueues(@Param('id', ParseIdPipe) id: number, @Body() dto: SetQueuesDto, @CurrentUser() user: AuthUser) {
    return this.agents.setQueues(id, dto.queueIds, user);
  }
}

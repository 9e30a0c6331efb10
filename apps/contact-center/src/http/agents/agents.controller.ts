import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AgentsService } from '@cc/agents';
import { Auth, AuthUser, CurrentUser } from '@cc/auth';
import { CreateAgentDto, ListAgentsQuery, SetQueuesDto, UpdateAgentDto } from './dto/agent.dto';
import { ParseIdPipe } from '../parse-id';

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post()
  @Auth('admin')
  create(@Body() dto: CreateAgentDto) {
    return this.agents.create(dto);
  }

  /** 200 with the existing agent of that email (unchanged), or 201 with a new one. */
  @Post('get-or-create')
  @Auth('admin')
  async getOrCreate(@Body() dto: CreateAgentDto, @Res({ passthrough: true }) res: Response) {
    const { agent, created } = await this.agents.getOrCreate(dto);
    res.status(created ? 201 : 200);
    return agent;
  }

  @Get()
  @Auth('admin')
  list(@Query() query: ListAgentsQuery) {
    return this.agents.list(query);
  }

  @Get('me')
  @Auth('agent')
  me(@CurrentUser() user: AuthUser) {
    return this.agents.get(user.id);
  }

  @Get(':id')
  @Auth('admin', 'agent')
  get(@Param('id', ParseIdPipe) id: number, @CurrentUser() user: AuthUser) {
    return this.agents.get(id, user);
  }

  @Patch(':id')
  @Auth('admin')
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateAgentDto) {
    return this.agents.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Auth('admin')
  remove(@Param('id', ParseIdPipe) id: number) {
    return this.agents.remove(id);
  }

  /** Replaces the agent's queues (an agent may set its own). */
  @Put(':id/queues')
  @Auth('admin', 'agent')
  setQueues(@Param('id', ParseIdPipe) id: number, @Body() dto: SetQueuesDto, @CurrentUser() user: AuthUser) {
    return this.agents.setQueues(id, dto.queueIds, user);
  }
}

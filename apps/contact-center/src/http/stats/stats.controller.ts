import { Controller, Get } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Auth } from '@cc/auth';
import { StatsService } from '@cc/statistics';

const AGENT_COUNTS = {
  type: 'object',
  properties: { offline: { type: 'integer' }, available: { type: 'integer' }, busy: { type: 'integer' }, paused: { type: 'integer' }, wrapUp: { type: 'integer' } },
};

const QUEUE_STATS = {
  type: 'object',
  properties: {
    queueId: { type: 'integer' },
    name: { type: 'string' },
    waiting: { type: 'integer' },
    offered: { type: 'integer' },
    active: { type: 'integer' },
    oldestWaitingSince: { type: 'string', format: 'date-time', nullable: true },
    longestWaitSeconds: { type: 'integer' },
    estimatedWaitSeconds: { type: 'integer', nullable: true, description: 'for a conversation joining the line now; null without a basis' },
    agents: AGENT_COUNTS,
  },
};

const AGENT_STATS = {
  type: 'object',
  properties: {
    agentId: { type: 'integer' },
    name: { type: 'string' },
    state: { type: 'string', enum: ['offline', 'available', 'busy', 'paused', 'wrap-up'] },
    stateSince: { type: 'string', format: 'date-time' },
    activeConversations: { type: 'integer' },
    activeByChannel: { type: 'object', additionalProperties: { type: 'integer' } },
  },
};

@ApiTags('statistics')
@ApiUnauthorizedResponse({ description: 'No or bad token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Controller('stats')
@Auth('admin')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('queues')
  @ApiOperation({ summary: 'Live statistics per queue (also pushed to admin sockets as stats.queues)' })
  @ApiOkResponse({ schema: { type: 'array', items: QUEUE_STATS } })
  queues() {
    return this.stats.queues();
  }

  @Get('agents')
  @ApiOperation({ summary: "Live state of every agent, since when, and its load" })
  @ApiOkResponse({ schema: { type: 'array', items: AGENT_STATS } })
  agents() {
    return this.stats.agents();
  }
}

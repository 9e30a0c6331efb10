import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Auth } from '@cc/auth';
import { StatsService } from '@cc/statistics';
import { AgentStats, QueueStats } from '../../api-docs/schemas.dto';

@ApiTags('statistics')
@Controller('stats')
@Auth('admin')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('queues')
  @ApiOperation({ summary: 'Live statistics per queue (also pushed to admin sockets as stats.queues)' })
  @ApiResponse({ status: 200, type: [QueueStats] })
  queues() {
    return this.stats.queues();
  }

  @Get('agents')
  @ApiOperation({ summary: 'Live state of every agent, since when, and its load' })
  @ApiResponse({ status: 200, type: [AgentStats] })
  agents() {
    return this.stats.agents();
  }
}

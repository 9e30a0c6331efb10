import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { DatabaseHealth } from '@cc/database';
import { Health } from '../../api-docs/schemas.dto';
import { ShutdownState } from '../../platform/shutdown-state';
import { RedisHealth } from '../../platform/redis-health';

type HealthView = Health & { status: 'ok' | 'degraded' | 'error' | 'stopping'; db: 'up' | 'down'; redis: 'up' | 'down' | 'disabled' };

class LiveView {
  @ApiProperty({ enum: ['ok'] })
  status: 'ok';
}

/*
 * Three probes: /health tells the whole truth (the database is required, Redis only degrades);
 * /health/live answers while the process runs (a liveness probe must not restart an instance
 * because its database is away); /health/ready answers 200 only while it can serve requests.
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: DatabaseHealth,
    @Inject(RedisHealth) private readonly redis: RedisHealth,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Health of the instance and its dependencies' })
  @ApiOkResponse({ type: Health, description: '`ok`, or `degraded` when only Redis is down' })
  @ApiServiceUnavailableResponse({ type: Health, description: 'The database cannot be reached' })
  async check(@Res() res: Response) {
    const [db, redis] = await Promise.all([this.db.check(), this.redis.check()]);
    const status = db === 'down' ? 'error' : redis === 'down' ? 'degraded' : 'ok';
    res.status(db === 'up' ? 200 : 503).json({ status, db, redis } satisfies HealthView);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up (for a liveness probe)' })
  @ApiOkResponse({ type: LiveView })
  live(): LiveView {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the instance can serve requests (database reachable)' })
  @ApiOkResponse({ type: Health })
  @ApiServiceUnavailableResponse({ type: Health, description: 'Not ready: database unreachable, or shutting down' })
  async ready(@Res() res: Response) {
    if (!this.shutdown.draining) return this.check(res);
    const [db, redis] = await Promise.all([this.db.check(), this.redis.check()]);
    res.status(503).json({ status: 'stopping', db, redis } satisfies HealthView);
  }
}

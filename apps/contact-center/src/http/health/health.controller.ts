import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Health } from '../../api-docs/schemas.dto';
import { TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Response } from 'express';
import { RedisHealth } from '../../platform/redis-health';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: TypeOrmHealthIndicator,
    @Inject(RedisHealth) private readonly redis: RedisHealth,
  ) {}

  /** `{ status, db, redis }`; 503 when the database does not answer. */
  @Get()
  @ApiOperation({ summary: 'Health of this instance and its database and Redis' })
  @ApiResponse({ status: 200, type: Health, description: 'Serving' })
  @ApiResponse({ status: 503, type: Health, description: 'The database does not answer (`db: "down"`)' })
  async check(@Res() res: Response) {
    const db = await this.db
      .pingCheck('db', { timeout: 2000 })
      .then(() => 'up' as const)
      .catch(() => 'down' as const);
    const redis = await this.redis.check();
    const ok = db === 'up' && redis !== 'down';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'error', db, redis });
  }
}

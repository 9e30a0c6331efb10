import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { Auth } from '@cc/auth';
import { BUCKET_COLUMNS, ConversationReportQuery, ReportRangeQuery, ReportsService, toCsv } from '@cc/statistics';

const NUMBER_OR_NULL = { type: 'number', nullable: true };

const MEASURES = {
  type: 'object',
  properties: {
    started: { type: 'integer' },
    assigned: { type: 'integer' },
    resolved: { type: 'integer' },
    abandoned: { type: 'integer' },
    transferred: { type: 'integer' },
    avgWaitSeconds: NUMBER_OR_NULL,
    maxWaitSeconds: NUMBER_OR_NULL,
    avgHandleSeconds: NUMBER_OR_NULL,
    avgFirstResponseSeconds: NUMBER_OR_NULL,
    serviceLevel: { ...NUMBER_OR_NULL, description: 'share 0..1' },
  },
};

const CONVERSATION_REPORT = {
  type: 'object',
  properties: {
    buckets: { type: 'array', items: { allOf: [{ type: 'object', properties: { start: { type: 'string', format: 'date-time' } } }, MEASURES] } },
    total: MEASURES,
  },
};

const AGENT_REPORT = {
  type: 'object',
  properties: {
    agentId: { type: 'integer' },
    name: { type: 'string' },
    secondsByState: {
      type: 'object',
      properties: { offline: { type: 'number' }, available: { type: 'number' }, busy: { type: 'number' }, paused: { type: 'number' }, wrapUp: { type: 'number' } },
    },
    assigned: { type: 'integer' },
    resolved: { type: 'integer' },
    transferredOut: { type: 'integer' },
    missedOffers: { type: 'integer' },
    avgHandleSeconds: NUMBER_OR_NULL,
    avgFirstResponseSeconds: NUMBER_OR_NULL,
  },
};

@ApiTags('reports')
@ApiBadRequestResponse({ description: 'Bad range (not ISO 8601, to not after from, more than 366 days), interval or tz' })
@ApiUnauthorizedResponse({ description: 'No or bad token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Controller('reports')
@Auth('admin')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('conversations')
  @ApiOperation({ summary: 'Conversation counts and averages per hour or day in a time zone; Accept: text/csv for CSV' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ schema: CONVERSATION_REPORT })
  async conversations(@Query() query: ConversationReportQuery, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const report = await this.reports.conversations(query);
    if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
      res.type('text/csv');
      return toCsv([...BUCKET_COLUMNS], report.buckets as unknown as Record<string, unknown>[]);
    }
    return report;
  }

  @Get('agents')
  @ApiOperation({ summary: 'Per agent over a range: seconds in each state, assignments, resolutions, transfers, missed offers, averages' })
  @ApiOkResponse({ schema: { type: 'array', items: AGENT_REPORT } })
  agents(@Query() query: ReportRangeQuery) {
    return this.reports.agents(query);
  }
}

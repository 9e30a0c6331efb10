import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@cc/common';
import { Request, Response } from 'express';
import { Auth } from '@cc/auth';
import { BUCKET_COLUMNS, ConversationReportQuery, ReportRangeQuery, ReportsService, toCsv } from '@cc/statistics';
import { AgentReport, ConversationReport } from '../../api-docs/schemas.dto';

@ApiTags('reports')
@ApiExtraModels(ConversationReport)
@ApiErrors({ 400: 'Bad range (not ISO 8601, to not after from, more than 366 days), interval or tz' })
@Controller('reports')
@Auth('admin')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('conversations')
  @ApiOperation({ summary: 'Conversation counts and averages per hour or day in a time zone; Accept: text/csv for CSV' })
  @ApiProduces('application/json', 'text/csv')
  @ApiResponse({
    status: 200,
    description: 'JSON, or with `Accept: text/csv` the buckets as CSV with a header row',
    content: {
      'application/json': { schema: { $ref: '#/components/schemas/ConversationReport' } },
      'text/csv': { schema: { type: 'string', example: 'start,started,assigned,...\n2026-01-01T00:00:00.000Z,12,11,...' } },
    },
  })
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
  @ApiResponse({ status: 200, type: [AgentReport] })
  agents(@Query() query: ReportRangeQuery) {
    return this.reports.agents(query);
  }
}

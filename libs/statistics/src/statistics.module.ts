import { Module } from '@nestjs/common';
import { ReportRollupRepository } from './report-rollup.repository';
import { ReportRollupService } from './report-rollup.service';
import { ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';
import { StatsRepository } from './stats.repository';
import { StatsService } from './stats.service';

/** Read models of the supervisor: live statistics, wait estimates and reports (API.md section 13). It writes only the reports' rollup. */
@Module({
  providers: [StatsRepository, StatsService, ReportsRepository, ReportsService, ReportRollupRepository, ReportRollupService],
  exports: [StatsService, ReportsService, ReportRollupService],
})
export class StatisticsModule {}

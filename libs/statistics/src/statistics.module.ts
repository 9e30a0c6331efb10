import { Module } from '@nestjs/common';
import { ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';
import { StatsRepository } from './stats.repository';
import { StatsService } from './stats.service';

/** Read models of the supervisor: live statistics, wait estimates and reports (API.md section 13). It writes nothing. */
@Module({
  providers: [StatsRepository, StatsService, ReportsRepository, ReportsService],
  exports: [StatsService, ReportsService],
})
export class StatisticsModule {}

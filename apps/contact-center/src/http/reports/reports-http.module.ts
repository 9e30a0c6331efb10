import { Module } from '@nestjs/common';
import { StatisticsModule } from '@cc/statistics';
import { ReportsController } from './reports.controller';

@Module({ imports: [StatisticsModule], controllers: [ReportsController] })
export class ReportsHttpModule {}

import { Module } from '@nestjs/common';
import { StatisticsModule } from '@cc/statistics';
import { StatsController } from './stats.controller';

@Module({ imports: [StatisticsModule], controllers: [StatsController] })
export class StatsHttpModule {}

export * from './csv';
export * from './report.dto';
export * from './reports.repository';
export * from './reports.service';
export * from './stats.repository';
export * from './stats.service';
export * from './statistics.module';
export * from './wait-estimate';

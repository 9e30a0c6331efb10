export * from './allocation-decision.entity';
export * from './allocation.service';
export * from './allocation.module';
export * from './conversation-row';
export * from './strategies';
export * from './offers.service';

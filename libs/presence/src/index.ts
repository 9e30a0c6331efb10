export * from './agent-presence.entity';
export * from './agent-state-history.entity';
export * from './pause-reason.entity';
export * from './presence-state';
export * from './presence.service';
export * from './pause-reasons.service';
export * from './socket-presence.service';
export * from './presence.module';
export { markAssignedSql, markManyAssignedSql } from './presence.repository';

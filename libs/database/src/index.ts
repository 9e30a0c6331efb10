export * from './database.module';
export * from './embedded-postgres';
export * from './locks';
export * from './sql';
export { MIGRATIONS } from './migrations';
export * from './after-commit';
export * from './batch-queue';
export * from './outbox';
export * from './outbox.repository';

export * from './config';
export * from './errors';
export * from './views';
export * from './domain-events';
export * from './transaction-hooks';
export * from './password-hasher';
export * from './common.module';
export * from './pagination.dto';

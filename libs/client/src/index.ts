export * from './errors';
export * from './rest';
export * from './realtime';
export type * from '@cc/protocol';

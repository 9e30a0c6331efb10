export * from './views';
export * from './events';

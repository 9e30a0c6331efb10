export * from './agent.entity';
export * from './agent.view';
export * from './agents.service';
export * from './agents.module';
export * from './agents.repository';

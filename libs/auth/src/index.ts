export * from './admin.entity';
export * from './customer.entity';
export * from './auth-user';
export * from './auth.dto';
export * from './auth.guards';
export * from './auth.service';
export * from './auth.module';
export * from './token.service';

import { Global, Module } from '@nestjs/common';
import { ShutdownState } from './shutdown-state';

/** App-level things both transports use. */
@Global()
@Module({ providers: [ShutdownState], exports: [ShutdownState] })
export class PlatformModule {}

import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, loadConfig } from '@cc/common';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';
import { SHUTDOWN_DEADLINE_MS, shutdownGracefully } from './shutdown';
import { startupSummary } from './lifecycle-log';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  const { webUi } = await configureApp(app);
  await app.listen(config.port);
  app.get(Logger).log(startupSummary(config.port, webUi), 'Bootstrap');
  const logger = app.get(Logger);
  // A stray rejection (e.g. a Redis publish during an outage) is logged; the process keeps serving.
  process.on('unhandledRejection', (reason) => logger.error(`Unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`, 'Process'));
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.log(`${signal}: shutting down`, 'Process');
      setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
      shutdownGracefully(app).then(
        () => process.exit(0),
        (err) => {
          logger.error(`Shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 'Process');
          process.exit(1);
        },
      );
    });
  }
}

void bootstrap();

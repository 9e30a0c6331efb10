import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, loadConfig } from '@cc/common';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';
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
}

void bootstrap();

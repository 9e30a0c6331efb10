import { INestApplication, RequestMethod, ValidationPipe } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { RedisClients } from './platform/redis-clients';
import { RedisIoAdapter } from './realtime/redis-io.adapter';

export const API_PREFIX = 'api/v1';

/** Everything main.ts and the e2e tests set up the same way on a created app. */
export async function configureApp(app: INestApplication): Promise<void> {
  const express = app as NestExpressApplication;
  app.useLogger(app.get(Logger));
  express.useBodyParser('json', { limit: '64kb' });
  app.setGlobalPrefix(API_PREFIX, { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new HttpExceptionFilter());
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  app.enableCors();

  const adapter = new RedisIoAdapter(app);
  await adapter.connect(app.get(RedisClients));
  app.useWebSocketAdapter(adapter);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Contact center API')
      .setDescription('HTTP API of the contact-center backend; real-time events are documented in the README.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
}

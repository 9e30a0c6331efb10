import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { Express, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import { buildAsyncApiDocument } from './api-docs/asyncapi';
import { buildOpenApiDocument } from './api-docs/openapi';
import { CLIENT_EVENT_DOCS, SERVER_EVENT_DOCS } from './realtime/socket-api';
import { MetricsService } from './platform/metrics.service';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { RedisClients } from './platform/redis-clients';
import { serveWebUi } from './platform/web-ui';
import { RedisIoAdapter } from './realtime/redis-io.adapter';

export const API_PREFIX = 'api/v1';

/** Everything main.ts and the e2e tests set up the same way on a created app. */
export async function configureApp(app: INestApplication): Promise<{ webUi: boolean }> {
  const express = app as NestExpressApplication;
  app.useLogger(app.get(Logger));
  express.useBodyParser('json', { limit: '64kb' });
  app.setGlobalPrefix(API_PREFIX);
  // Prometheus scrapes /metrics (no prefix). A plain route rather than a controller excluded from
  // the prefix, so that the start-up log names the route as it is (documented in openapi.ts).
  const metrics = app.get(MetricsService);
  const http = express.getHttpAdapter().getInstance() as Express;
  http.get('/metrics', async (_req: Request, res: Response) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new HttpExceptionFilter());
  // process.exit (not a re-raised signal) lets the logger flush the shutdown's last line.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  app.enableCors();
  const webUi = serveWebUi(express);

  const adapter = new RedisIoAdapter(app);
  await adapter.connect(app.get(RedisClients));
  app.useWebSocketAdapter(adapter);

  const openapi = buildOpenApiDocument(app, Object.values(CLIENT_EVENT_DOCS).map((e) => e.payload));
  const asyncapi = buildAsyncApiDocument(openapi, { server: SERVER_EVENT_DOCS, client: CLIENT_EVENT_DOCS });
  // Before the OpenAPI UI, which serves everything else under /docs.
  http.get('/docs/asyncapi.json', (_req: Request, res: Response) => void res.json(asyncapi));
  SwaggerModule.setup('docs', app, openapi);
  return { webUi };
}

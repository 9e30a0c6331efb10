import { INestApplication, Type } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ERROR_DESCRIPTIONS, ErrorResponse, PageMeta } from '@cc/common';
import { AgentRef } from './schemas.dto';

type Operation = {
  summary?: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/** Routes outside the database: no 503 from a database outage. */
const NO_DATABASE = new Set(['/metrics']);

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } };

/**
 * The OpenAPI document of every HTTP route (served at /docs and /docs-json). Routes state their
 * summary, 2xx schema and specific errors with decorators; what follows from the route itself
 * is added here, so every route documents it the same way:
 * - 400 on every route that takes a body, a query or a path parameter (validation);
 * - 503 on every route that reads the database (section 10: the database cannot be reached).
 * test/api-docs.e2e-spec.ts validates the result and names any operation lacking a summary or
 * a 2xx schema.
 */
export function buildOpenApiDocument(app: INestApplication, extraModels: Type<unknown>[] = []): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Contact center API')
      .setDescription(
        'HTTP API of the contact-center backend (base path /api/v1, JSON in and out). Lists answer `{ data, meta }`; ' +
          'errors answer `ErrorResponse`. Real-time events over Socket.IO (namespaces /agent and /customer) are described ' +
          'by the AsyncAPI document at /docs/asyncapi.json. The repository\'s docs/api.md explains every route and event.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /auth/login or POST /customers/session' })
      .build(),
    // Socket payloads (extraModels) get their schemas here too: the AsyncAPI document reuses them.
    { extraModels: [ErrorResponse, PageMeta, AgentRef, ...extraModels] },
  );
  document.paths['/metrics'] = {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics of this instance',
      description:
        'Prometheus text exposition: process metrics (`cc_process_*`, `cc_nodejs_*`), `cc_sockets_connected{namespace}`, ' +
        '`cc_messages_sent_total{sender_type}`, `cc_allocations_total`, `cc_conversations_waiting`, `cc_socket_ack_seconds{event}`.',
      tags: ['operations'],
      responses: {
        '200': {
          description: 'Prometheus text format 0.0.4',
          content: { 'text/plain': { schema: { type: 'string', example: '# HELP cc_sockets_connected Connected sockets\n# TYPE cc_sockets_connected gauge\n' } } },
        },
      },
    },
  };
  addDerivedErrors(document);
  integerIds(document);
  return document;
}

/** Ids and paging numbers are integers (the plugin says `number` for every TypeScript number). */
const INTEGER_NAMES = /^(id|.+Id|page|limit|total|totalPages|statusCode|after|before|position)$/;
const INTEGER_LISTS = /^.+Ids$/;

function integerIds(document: OpenAPIObject): void {
  const fix = (name: string, schema: Record<string, any> | undefined) => {
    if (!schema) return;
    if (INTEGER_NAMES.test(name) && schema.type === 'number') schema.type = 'integer';
    if (INTEGER_LISTS.test(name) && schema.type === 'array' && schema.items?.type === 'number') schema.items.type = 'integer';
  };
  for (const schema of Object.values(document.components?.schemas ?? {}) as Record<string, any>[]) {
    for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, any>)) fix(name, property);
  }
  for (const { op } of operationsOf(document)) {
    for (const parameter of (op.parameters ?? []) as { name: string; in: string; schema?: Record<string, any> }[]) {
      if (parameter.in !== 'header') fix(parameter.name, parameter.schema);
    }
  }
}

function addDerivedErrors(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const takesInput = !!op.requestBody || !!op.parameters?.length;
      if (takesInput) addError(op, 400);
      if (!NO_DATABASE.has(path)) addError(op, 503);
    }
  }
}

function addError(op: Operation, status: number): void {
  op.responses[status] ??= { description: ERROR_DESCRIPTIONS[status], content: errorContent };
}

/** Every operation of the document, for tests and for the AsyncAPI builder. */
export function operationsOf(document: OpenAPIObject): { method: string; path: string; op: Operation }[] {
  const out: { method: string; path: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (op) out.push({ method, path, op });
    }
  }
  return out;
}

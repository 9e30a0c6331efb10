import { OpenAPIObject } from '@nestjs/swagger';

/*
 * The AsyncAPI 3 document of the Socket.IO API (GET /docs/asyncapi.json), built at start from
 * the realtime layer's description of its events (realtime/socket-api.ts, keyed by the event
 * maps of @cc/protocol) and the schemas of the OpenAPI document, so that HTTP and sockets
 * describe every shape once. test/api-docs.e2e-spec.ts validates it against the AsyncAPI 3.0
 * schema and real payloads against its messages.
 */
type Schema = Record<string, unknown>;

export interface SocketApiDescription {
  server: Record<string, { summary: string; to: string; namespaces: string[]; payload: Schema }>;
  client: Record<string, { summary: string; from: string; namespaces: string[]; payload: new () => object; ackData: Schema }>;
}

const NAMESPACES = [
  {
    id: 'agent',
    address: '/agent',
    title: 'Agent consoles and admins',
    description:
      "Connect with `io(url + '/agent', { auth: { token } })` and an agent's or admin's access token (POST /api/v1/auth/login). " +
      'A missing, invalid, revoked or wrong-role token fails the handshake with `connect_error` message `unauthorized` ' +
      '(`unavailable` when the database cannot be asked: retry). An agent gets conversations only while logged in ' +
      '(POST /api/v1/agents/{id}/login): connecting a socket never changes presence.',
  },
  {
    id: 'customer',
    address: '/customer',
    title: 'Chat widgets and channel connectors',
    description:
      "Connect with `io(url + '/customer', { auth: { token } })` and a customer's access token (POST /api/v1/customers/session). " +
      'Handshake failures as on /agent.',
  },
] as const;

export function buildAsyncApiDocument(openapi: OpenAPIObject, api: SocketApiDescription): Record<string, unknown> {
  const available = (openapi.components?.schemas ?? {}) as Record<string, Schema>;
  const used = new Set<string>();
  const resolve = (schema: Schema): Schema => rewriteRefs(schema, used, available);

  const messages: Record<string, Schema> = {};
  const channels: Record<string, Schema> = {};
  const operations: Record<string, Schema> = {};

  for (const [event, doc] of Object.entries(api.server)) {
    messages[`toClient.${event}`] = {
      name: event,
      title: event,
      summary: doc.summary,
      description: `Sent to: ${doc.to}.`,
      payload: resolve(doc.payload),
    };
  }
  for (const [event, doc] of Object.entries(api.client)) {
    const payloadName = doc.payload.name;
    messages[`toServer.${event}`] = {
      name: event,
      title: event,
      summary: doc.summary,
      description: `Sent by: ${doc.from}. Emit with an acknowledgement callback; the payload is validated like an HTTP body (unknown fields refused).`,
      payload: resolve({ $ref: payloadName }),
    };
    messages[`toServer.${event}.ack`] = {
      name: `${event} (ack)`,
      title: `${event} acknowledgement`,
      summary: `The acknowledgement of ${event}: { ok: true, data } or { ok: false, error }`,
      payload: {
        oneOf: [
          { type: 'object', required: ['ok', 'data'], properties: { ok: { const: true }, data: resolve(doc.ackData) } },
          { type: 'object', required: ['ok', 'error'], properties: { ok: { const: false }, error: { $ref: '#/components/schemas/AckError' } } },
        ],
      },
    };
  }

  for (const ns of NAMESPACES) {
    const channelMessages: Record<string, Schema> = {};
    const ref = (key: string) => ({ $ref: `#/channels/${ns.id}/messages/${key}` });
    for (const [event, doc] of Object.entries(api.server)) {
      if (!doc.namespaces.includes(ns.address)) continue;
      channelMessages[`toClient.${event}`] = { $ref: `#/components/messages/toClient.${event}` };
      operations[`${ns.id}.send.${event}`] = {
        action: 'send',
        channel: { $ref: `#/channels/${ns.id}` },
        summary: doc.summary,
        messages: [ref(`toClient.${event}`)],
      };
    }
    for (const [event, doc] of Object.entries(api.client)) {
      if (!doc.namespaces.includes(ns.address)) continue;
      channelMessages[`toServer.${event}`] = { $ref: `#/components/messages/toServer.${event}` };
      channelMessages[`toServer.${event}.ack`] = { $ref: `#/components/messages/toServer.${event}.ack` };
      operations[`${ns.id}.receive.${event}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${ns.id}` },
        summary: doc.summary,
        messages: [ref(`toServer.${event}`)],
        reply: { channel: { $ref: `#/channels/${ns.id}` }, messages: [ref(`toServer.${event}.ack`)] },
      };
    }
    channels[ns.id] = { address: ns.address, title: ns.title, description: ns.description, messages: channelMessages };
  }

  const schemas: Record<string, Schema> = {
    AckError: {
      type: 'object',
      required: ['statusCode', 'message'],
      description:
        '400 validation (naming the fields), 403 not a participant, 404 unknown conversation or an event the namespace does not have, ' +
        '409 conflict (e.g. a send into a resolved conversation; `conversationId` when a conversation is already open), 429 rate limited, ' +
        '503 database unavailable (retry; a retried `clientMessageId` is stored once).',
      properties: {
        statusCode: { type: 'integer', examples: [409] },
        message: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      },
    },
  };
  // Referenced schemas, and the ones they reference, converted from OpenAPI 3.0 to JSON Schema.
  const pending = [...used];
  while (pending.length) {
    const name = pending.pop()!;
    if (schemas[name]) continue;
    const before = new Set(used);
    schemas[name] = toJsonSchema(rewriteRefs(available[name], used, available));
    for (const n of used) if (!before.has(n)) pending.push(n);
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Contact center real-time API',
      version: '1',
      description:
        'Socket.IO v4 on the HTTP port (path /socket.io): namespace /agent for agent consoles and admins, /customer for chat widgets ' +
        'and connectors. Every client event takes an acknowledgement callback answered `{ ok: true, data }` or `{ ok: false, error }`. ' +
        'Every (re)connection gets a fresh `ready`; a client that was away calls `messages.sync` per conversation with the last id it has. ' +
        'The repository\'s docs/api.md explains every event.',
    },
    defaultContentType: 'application/json',
    servers: {
      default: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io',
        description: 'Socket.IO v4 (Engine.IO over WebSocket or long-polling) on the same port as HTTP',
        security: [{ $ref: '#/components/securitySchemes/token' }],
      },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        token: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The access token, sent in the Socket.IO handshake: `io(url + namespace, { auth: { token } })`.',
        },
      },
    },
  };
}

/** `{ $ref: 'Name' }` and OpenAPI refs become `#/components/schemas/Name`; names are collected. */
function rewriteRefs(schema: unknown, used: Set<string>, available: Record<string, Schema>): Schema {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (!value || typeof value !== 'object') return value;
    const out: Schema = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.replace('#/components/schemas/', '');
        if (!available[name] && name !== 'AckError') throw new Error(`AsyncAPI: schema "${name}" is not in the OpenAPI document (add it to api-docs/schemas.dto.ts)`);
        used.add(name);
        out.$ref = `#/components/schemas/${name}`;
      } else out[k] = walk(v);
    }
    return out;
  };
  return walk(schema) as Schema;
}

/** OpenAPI 3.0 schema → JSON Schema draft 07 (what AsyncAPI schemas are): `nullable`, `example`. */
export function toJsonSchema(schema: unknown): Schema {
  if (Array.isArray(schema)) return schema.map(toJsonSchema) as unknown as Schema;
  if (!schema || typeof schema !== 'object') return schema as Schema;
  const { nullable, example, ...rest } = schema as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(rest)) {
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, toJsonSchema(s)])) : typeof v === 'object' ? toJsonSchema(v) : v;
  }
  if (example !== undefined) out.examples = [example];
  if (!nullable) return out;
  if (out.$ref || out.allOf || out.oneOf || out.anyOf) return { anyOf: [out, { type: 'null' }] };
  if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

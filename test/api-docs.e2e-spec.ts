import { Logger } from '@nestjs/common';
import Ajv from 'ajv';
import { operationsOf } from '../apps/contact-center/src/api-docs/openapi';
import { AgentGateway } from '../apps/contact-center/src/realtime/agent.gateway';
import { CustomerGateway } from '../apps/contact-center/src/realtime/customer.gateway';
import { PLAIN_LISTENER_EVENTS } from '../apps/contact-center/src/realtime/message-send';
import { ParticipantGateway } from '../apps/contact-center/src/realtime/participant.gateway';
import { SERVER_EVENT_DOCS } from '../apps/contact-center/src/realtime/socket-api';
import { ContactCenter } from './factories/contact-center.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';
import { connect, WsClient } from './utils/ws-client';
import { dereferenceOpenApi, validateOpenApi } from './utils/openapi-validator';
import { loadPluginMetadata } from './utils/plugin-metadata';

/*
 * The OpenAPI document a client generator reads (GET /docs-json). When this fails for a route
 * you added: give it @ApiOperation({ summary }), an @ApiResponse({ status: 2xx, type }) with a
 * class from apps/contact-center/src/api-docs/schemas.dto.ts (or @ApiPage(Model) for a list),
 * and @ApiErrors({ 404: '...', 409: '...' }) for the errors it answers (see docs/api.md).
 */
let t: TestApp;
const warnings: string[] = [];

beforeAll(async () => {
  await loadPluginMetadata();
  const record = (message: unknown) => void warnings.push(String(message));
  jest.spyOn(Logger, 'warn').mockImplementation(record);
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(record);
  t = await createTestApp();
}, 120_000);
afterAll(async () => {
  jest.restoreAllMocks();
  await t?.close();
});

describe('OpenAPI document (e2e)', () => {
  let doc: any;

  beforeAll(async () => {
    doc = (await t.http.get('/docs-json').expect(200)).body;
  });

  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await expect(validateOpenApi(doc)).resolves.toBeDefined();
  });

  it('builds without warnings (no duplicate schema names, no legacy route syntax)', () => {
    expect(warnings.filter((w) => /Duplicate DTO|LegacyRouteConverter|Unsupported route path/.test(w))).toEqual([]);
  });

  it('gives every operation a summary', () => {
    const missing = operationsOf(doc)
      .filter(({ op }) => !op.summary?.trim())
      .map(({ method, path }) => `${method.toUpperCase()} ${path}: add @ApiOperation({ summary: '...' })`);
    expect(missing).toEqual([]);
  });

  it('gives every operation a 2xx answer with a schema (204 and 202 may have no body)', () => {
    const missing: string[] = [];
    for (const { method, path, op } of operationsOf(doc)) {
      const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      const name = `${method.toUpperCase()} ${path}`;
      if (!ok.length) missing.push(`${name}: no 2xx response; add @ApiResponse({ status: 200, type: SomeSchema })`);
      for (const [status, response] of ok) {
        if (status === '204' || status === '202') continue;
        const schema = (response.content as Record<string, { schema?: any }> | undefined)?.[Object.keys(response.content ?? {})[0]]?.schema;
        if (!schema) missing.push(`${name} ${status}: no schema; add @ApiResponse({ status: ${status}, type: SomeSchema })`);
        else if (schema.type === 'object' && !schema.properties && !schema.$ref && !schema.additionalProperties)
          missing.push(`${name} ${status}: a bare object; describe it with a class in api-docs/schemas.dto.ts`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names every schema uniquely and describes every referenced schema', () => {
    const schemas = doc.components.schemas as Record<string, any>;
    const empty = Object.entries(schemas)
      .filter(([, s]) => s.type === 'object' && !s.properties && !s.allOf && !s.oneOf && !s.additionalProperties)
      .map(([name]) => `${name}: no properties`);
    expect(empty).toEqual([]);
    expect(schemas.LoginDto.required).toEqual(['email', 'password']);
    expect(Object.keys(schemas.LoginDto.properties).sort()).toEqual(['email', 'password']);
    expect(Object.keys(schemas.AgentLoginDto.properties).sort()).toEqual(['context', 'extension', 'force']);
  });

  it('documents the contract\'s error shape where errors happen', () => {
    const missing: string[] = [];
    for (const { method, path, op } of operationsOf(doc)) {
      const name = `${method.toUpperCase()} ${path}`;
      const statuses = Object.keys(op.responses);
      const needs = [
        ...(op.requestBody || op.parameters?.length ? ['400'] : []),
        ...((op as any).security?.length ? ['401'] : []),
        ...(path.includes('{') ? ['404'] : []),
        ...(path === '/metrics' ? [] : ['503']),
      ];
      for (const status of needs) if (!statuses.includes(status)) missing.push(`${name}: no ${status}; add @ApiErrors({ ${status}: '...' })`);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        const schema = (op.responses[status].content as any)?.['application/json']?.schema;
        if (!schema) missing.push(`${name} ${status}: no body schema`);
      }
    }
    expect(missing).toEqual([]);
    const login = doc.paths['/api/v1/auth/login'].post.responses;
    expect(Object.keys(login)).toEqual(expect.arrayContaining(['200', '400', '401', '429', '503']));
    expect(login['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
  });

  it('marks parameters with defaults optional and lists with their meta', () => {
    const history = doc.paths['/api/v1/conversations/{id}/messages'].get;
    const limit = history.parameters.find((p: any) => p.name === 'limit');
    expect(limit).toMatchObject({ required: false, schema: { default: 50, minimum: 1, maximum: 100 } });
    const agents = doc.paths['/api/v1/agents'].get;
    for (const name of ['page', 'limit', 'q', 'skill', 'state']) expect(agents.parameters.find((p: any) => p.name === name)).toMatchObject({ required: false });
    const page = doc.components.schemas.AgentPage;
    expect(page.properties.meta).toEqual({ $ref: '#/components/schemas/PageMeta' });
    expect(page.properties.data).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Agent' } });
    expect(doc.components.schemas.PageMeta.required).toEqual(['page', 'limit', 'total', 'totalPages']);
    // Ids are integers for client generators.
    expect(doc.components.schemas.Agent.properties.id.type).toBe('integer');
    expect(doc.components.schemas.Agent.properties.queueIds.items.type).toBe('integer');
    expect(history.parameters.find((p: any) => p.name === 'id').schema.type).toBe('integer');
  });

  it('answers what it documents (a login and an agent list validate against their schemas)', async () => {
    const api = await dereferenceOpenApi(doc);
    const login = await t.http.post('/api/v1/auth/login').send({ email: 'admin@example.com', password: 'admin-secret' }).expect(200);
    expectShape(login.body, (api.paths as any)['/api/v1/auth/login'].post.responses['200'].content['application/json'].schema);
    const list = await t.http.get('/api/v1/pause-reasons').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    expectShape(list.body, (api.paths as any)['/api/v1/pause-reasons'].get.responses['200'].content['application/json'].schema);
  });
});

/*
 * The AsyncAPI document of the sockets (GET /docs/asyncapi.json). It is built from
 * realtime/socket-api.ts; when this fails for an event you added, describe it there.
 */
describe('AsyncAPI document (e2e)', () => {
  let doc: any;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  beforeAll(async () => {
    doc = (await t.http.get('/docs/asyncapi.json').expect(200)).body;
    closedDoc = doc;
  });

  it('is a valid AsyncAPI 3.0 document', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { schemas } = require('@asyncapi/specs');
    // The AsyncAPI schema carries its own copy of the draft-07 meta-schema: a validator without one.
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false, meta: false, validateSchema: false }).compile(schemas['3.0.0']);
    const valid = validate(doc);
    expect(valid ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
    expect(doc.asyncapi).toBe('3.0.0');
    // Every reference resolves.
    const missing: string[] = [];
    JSON.stringify(doc, (key, value) => {
      if (key === '$ref' && pointer(doc, value) === undefined) missing.push(value);
      return value;
    });
    expect(missing).toEqual([]);
  });

  it('describes exactly the events each namespace handles', () => {
    for (const [channel, gateway] of [['agent', AgentGateway], ['customer', CustomerGateway]] as const) {
      const handled = subscribedEvents(gateway).sort();
      const documented = Object.keys(doc.channels[channel].messages).filter((k) => k.startsWith('toServer.') && !k.endsWith('.ack')).map((k) => k.slice('toServer.'.length)).sort();
      expect({ channel, documented }).toEqual({ channel, documented: handled });
      for (const event of handled) expect(doc.operations[`${channel}.receive.${event}`]?.reply).toBeDefined();
    }
  });

  it('matches what the server really sends and acknowledges', async () => {
    const cc = new ContactCenter(t, await loginAdmin(t));
    const open: WsClient[] = [];
    const sock = async (ns: '/agent' | '/customer', token: string) => {
      const { client, ready } = await connect(t.url, ns, token);
      open.push(client);
      return { client, ready };
    };
    const acks: { ns: '/agent' | '/customer'; event: string; ack: any }[] = [];
    const request = async (ns: '/agent' | '/customer', client: WsClient, event: string, payload: unknown) => {
      const ack = await client.request(event, payload);
      acks.push({ ns, event, ack });
      return ack;
    };
    try {
      const queue = await cc.queue();
      const a = await cc.agent({ queueIds: [queue.id] }, { login: false });
      const b = await cc.agent({ queueIds: [queue.id] });
      const admin = await sock('/agent', cc.admin);
      const adminSince = Date.now();
      const agentA = await sock('/agent', a.token);
      const agentB = await sock('/agent', b.token);
      await t.http.post(`/api/v1/agents/${b.id}/pause`).set(bearer(cc.admin)).send({}).expect(200);
      const customer = await cc.customer();
      const cust = await sock('/customer', customer.token);

      const started = await request('/customer', cust.client, 'conversation.start', { queueId: queue.id, text: 'Hello' });
      if (!started.ok) throw new Error(`conversation.start failed: ${JSON.stringify(started.error)}`);
      const id = started.data.id;
      await cust.client.waitFor('conversation.queued');
      await t.http.post(`/api/v1/agents/${a.id}/login`).set(bearer(a.token)).send({}).expect(200);
      await cust.client.waitFor('conversation.assigned');
      await agentA.client.waitFor('conversation.assigned');
      await request('/customer', cust.client, 'message.send', { conversationId: id, text: 'Are you there?', clientMessageId: 'docs-1' });
      await request('/agent', agentA.client, 'message.send', { conversationId: id, text: 'Yes, how can I help?' });
      await request('/agent', agentA.client, 'typing', { conversationId: id, typing: true });
      await request('/customer', cust.client, 'typing', { conversationId: id, typing: true });
      await cust.client.waitFor('typing');
      await agentA.client.waitFor('typing');
      await request('/customer', cust.client, 'messages.sync', { conversationId: id, afterId: 0 });
      await request('/customer', cust.client, 'message.send', { conversationId: id, text: '' });
      await t.http.post(`/api/v1/conversations/${id}/transfer`).set(bearer(cc.admin)).send({ agentId: b.id }).expect(200);
      await agentB.client.waitFor('conversation.transferred');
      await request('/customer', cust.client, 'conversation.resolve', { conversationId: id, notes: 'done' });
      await cust.client.waitFor('conversation.resolved');
      await admin.client.waitFor('conversation.resolved');
      // stats.queues goes out when the numbers differ from the last round (its first round, a
      // second after the admin connected, only sets the baseline): change them after that.
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - adminSince))));
      const second = await sock('/customer', (await cc.customer()).token);
      await request('/customer', second.client, 'conversation.start', { queueId: queue.id });
      await admin.client.waitFor('stats.queues', () => true, 8000);
      await agentA.client.waitFor('message.new');
      await admin.client.waitFor('agent.status');
      // Offers (API.md section 11): offered, declined (revoked), offered again, accepted; a second accept is an error ack.
      const offerQueue = await cc.queue({ offerTimeoutSeconds: 60 });
      const c = await cc.agent({ queueIds: [offerQueue.id] });
      const agentC = await sock('/agent', c.token);
      const offered = (await cc.start({ queueId: offerQueue.id })).conversation;
      await agentC.client.waitFor('conversation.offered', (p) => p.conversation.id === offered.id);
      await request('/agent', agentC.client, 'offer.decline', { conversationId: offered.id });
      await agentC.client.waitFor('conversation.offer.revoked', (p) => p.conversationId === offered.id);
      await eventuallyTrue(() => agentC.client.all('conversation.offered').length >= 2);
      await request('/agent', agentC.client, 'offer.accept', { conversationId: offered.id });
      await request('/agent', agentC.client, 'offer.accept', { conversationId: offered.id });
      await admin.client.waitFor('conversation.offer.revoked');

      const received = [
        ...[admin, agentA, agentB, agentC].flatMap(({ client, ready }) => [{ ns: '/agent', event: 'ready', payload: ready }, ...client.received.map((r) => ({ ns: '/agent', ...r }))]),
        { ns: '/customer', event: 'ready', payload: cust.ready },
        ...cust.client.received.map((r) => ({ ns: '/customer', ...r })),
      ];
      const problems: string[] = [];
      const seen = new Set<string>();
      for (const { ns, event, payload } of received) {
        const channel = ns.slice(1);
        const message = doc.channels[channel].messages[`toClient.${event}`];
        if (!message) {
          problems.push(`${ns} received "${event}", which the document does not list for it`);
          continue;
        }
        seen.add(event);
        problems.push(...check(`${ns} ${event}`, pointer(doc, message.$ref).payload, payload));
      }
      for (const { ns, event, ack } of acks) {
        const message = pointer(doc, doc.channels[ns.slice(1)].messages[`toServer.${event}.ack`].$ref);
        problems.push(...check(`${ns} ${event} ack`, message.payload, ack));
      }
      expect(problems).toEqual([]);
      expect(acks.some((a) => !a.ack.ok)).toBe(true); // the error ack was checked too
      expect([...seen].sort()).toEqual(Object.keys(SERVER_EVENT_DOCS).sort());
    } finally {
      for (const c of open) c.close();
    }
  });

  /** Waits (bounded) until `check` holds. */
async function eventuallyTrue(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Validates `value` against `schema`, refusing properties the schema does not describe. */
  function check(what: string, schema: any, value: unknown): string[] {
    const components = { schemas: Object.fromEntries(Object.entries(doc.components.schemas).map(([k, v]) => [k, closed(v)])) };
    const validate = ajv.compile({ ...closed(schema), components });
    return validate(value) ? [] : validate.errors!.map((e) => `${what}: ${e.instancePath || '/'} ${e.message} (${JSON.stringify(value).slice(0, 200)})`);
  }
});

/** The schema with `allOf` parts merged and `additionalProperties: false` on every object with properties. */
function closed(schema: any, components?: Record<string, any>): any {
  if (Array.isArray(schema)) return schema.map((s) => closed(s, components));
  if (!schema || typeof schema !== 'object') return schema;
  let out: any = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as any).map(([p, s]) => [p, closed(s, components)])) : closed(v, components)]));
  if (out.allOf) {
    const parts = out.allOf.map((p: any) => (p.$ref ? closedDoc!.components.schemas[p.$ref.split('/').pop()] : p));
    const { allOf: _, ...rest } = out;
    out = { ...rest, type: 'object', properties: Object.assign({}, ...parts.map((p: any) => p.properties ?? {})), required: parts.flatMap((p: any) => p.required ?? []) };
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}
let closedDoc: any;

function pointer(root: any, ref: string): any {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], root);
}

/** The events a gateway class handles (@SubscribeMessage), along its class chain. */
function subscribedEvents(gateway: new (...args: any[]) => unknown): string[] {
  const events = new Set<string>();
  for (let proto = gateway.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const handler = Object.getOwnPropertyDescriptor(proto, key)?.value;
      const event = typeof handler === 'function' ? Reflect.getMetadata('message', handler) : undefined;
      if (typeof event === 'string') events.add(event);
    }
  }
  if (gateway.prototype instanceof ParticipantGateway) for (const event of PLAIN_LISTENER_EVENTS) events.add(event);
  return [...events];
}

/** Every required property is there and no undocumented one (a shallow-by-design structural check). */
function expectShape(value: any, schema: any, at = '$'): void {
  if (schema.type === 'array') {
    expect(Array.isArray(value)).toBe(true);
    for (const [i, v] of value.entries()) expectShape(v, schema.items, `${at}[${i}]`);
    return;
  }
  if (schema.type !== 'object' && !schema.properties) return;
  if (value === null) {
    expect({ at, nullable: schema.nullable ?? false }).toEqual({ at, nullable: true });
    return;
  }
  const props = schema.properties ?? {};
  expect({ at, missing: (schema.required ?? []).filter((k: string) => !(k in value)) }).toEqual({ at, missing: [] });
  expect({ at, undocumented: Object.keys(value).filter((k) => !(k in props)) }).toEqual({ at, undocumented: [] });
  for (const [k, v] of Object.entries(value)) if (v !== null && typeof v === 'object') expectShape(v, props[k], `${at}.${k}`);
}

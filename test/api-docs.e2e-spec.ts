import { Logger } from '@nestjs/common';
import { operationsOf } from '../apps/contact-center/src/api-docs/openapi';
import { createTestApp, TestApp } from './utils/create-test-app';
import { dereferenceOpenApi, validateOpenApi } from './utils/openapi-validator';
import { loadPluginMetadata } from './utils/plugin-metadata';

/*
 * The OpenAPI document a client generator reads (GET /docs-json). When this fails for a route
 * you added: give it @ApiOperation({ summary }), an @ApiResponse({ status: 2xx, type }) with a
 * class from apps/contact-center/src/api-docs/schemas.dto.ts (or @ApiPage(Model) for a list),
 * and @ApiErrors({ 404: '...', 409: '...' }) for the errors it answers (see docs/api.md).
 */
describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  let doc: any;
  const warnings: string[] = [];

  beforeAll(async () => {
    await loadPluginMetadata();
    const record = (message: unknown) => void warnings.push(String(message));
    jest.spyOn(Logger, 'warn').mockImplementation(record);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(record);
    t = await createTestApp();
    doc = (await t.http.get('/docs-json').expect(200)).body;
  }, 120_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
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
  });

  it('answers what it documents (a login and an agent list validate against their schemas)', async () => {
    const api = await dereferenceOpenApi(doc);
    const login = await t.http.post('/api/v1/auth/login').send({ email: 'admin@example.com', password: 'admin-secret' }).expect(200);
    expectShape(login.body, (api.paths as any)['/api/v1/auth/login'].post.responses['200'].content['application/json'].schema);
    const list = await t.http.get('/api/v1/pause-reasons').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    expectShape(list.body, (api.paths as any)['/api/v1/pause-reasons'].get.responses['200'].content['application/json'].schema);
  });
});

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

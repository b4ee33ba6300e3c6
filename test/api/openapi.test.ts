/**
 * /openapi.json is a real OpenAPI 3.1 document: Spectral's `spectral:oas` ruleset finds no error in
 * it; every operation is named, described and secured, and answers every status its codes have (the
 * OPERATIONS table and the rules of problemCodes), as a Problem with an example per code; every
 * `$ref` resolves; every example validates against its schema; the outgoing webhook is described
 * under `webhooks`; and the webhook body's JSON Schema is served, matching what is really delivered.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS, OPERATIONS, REGISTERED_USER_SCHEMA_PATH } from '../../src/api/openapi.js';
import { compileValidator } from '../../src/api/validation.js';
import { normalizeRegistration, parseRegisterDate, type RegistrationReport } from '../../src/domain/registration.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { registration, startTestService, type TestService } from '../helpers/service.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const addFormats = (ajvFormats as unknown as { default: FormatsPlugin }).default;

/** A JSON Schema 2020-12 validator with the formats the API's schemas use. */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat('ip', (value: string) => isIP(value) !== 0);
  ajv.addFormat('register-date', (value: string) => parseRegisterDate(value) !== undefined);
  return ajv;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Operation {
  where: string;
  method: string;
  path: string;
  op: any;
}

/** Every operation of the document, webhooks included. */
function operationsOf(doc: any): Operation[] {
  const out: Operation[] = [];
  for (const [group, items] of [['paths', doc.paths], ['webhooks', doc.webhooks]] as const) {
    for (const [p, item] of Object.entries<any>(items ?? {})) {
      for (const method of METHODS) {
        if (item[method]) out.push({ where: `${group} ${method.toUpperCase()} ${p}`, method: method.toUpperCase(), path: p, op: item[method] });
      }
    }
  }
  return out;
}

/** Every `$ref` in the document, with where it is. */
function refsOf(value: unknown, at = '#'): { at: string; ref: string }[] {
  if (typeof value !== 'object' || value === null) return [];
  const own = typeof (value as { $ref?: unknown }).$ref === 'string' ? [{ at, ref: (value as { $ref: string }).$ref }] : [];
  return [...own, ...Object.entries(value).flatMap(([key, item]) => refsOf(item, `${at}/${key}`))];
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let current: any = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

describe('/openapi.json', () => {
  let svc: TestService;
  let doc: any;
  let dir: string;

  beforeAll(async () => {
    svc = await startTestService();
    const res = await svc.app!.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
    dir = mkdtempSync(path.join(tmpdir(), 'reghook-openapi-'));
  });
  afterAll(async () => {
    await svc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no error under Spectral (spectral:oas)', async () => {
    const file = path.join(dir, 'openapi.json');
    const report = path.join(dir, 'spectral.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const spectral = path.join(ROOT, 'node_modules', '.bin', 'spectral');
    // Exit code 1 means errors were found: the report says which.
    await run(spectral, ['lint', file, '--ruleset', path.join(ROOT, '.spectral.yaml'), '--format', 'json', '--output', report, '--quiet'], {
      cwd: ROOT,
    }).catch((error: { code?: number }) => {
      if (error.code !== 1) throw error;
    });
    const results = JSON.parse(readFileSync(report, 'utf8')) as { code: string; message: string; path: string[]; severity: number }[];
    const format = (r: (typeof results)[number]) => `${r.code} at ${r.path.join('.')}: ${r.message}`;
    const errors = results.filter((r) => r.severity === 0).map(format);
    expect(errors, `Spectral errors:\n${errors.join('\n')}`).toEqual([]);
    // The one warning left: info-contact (a self-hosted service has no contact of its own to publish).
    const warnings = results.filter((r) => r.severity === 1).map(format);
    expect(warnings.filter((w) => !w.startsWith('info-contact ')), `Spectral warnings:\n${warnings.join('\n')}`).toEqual([]);
  }, 120_000);

  it('is OpenAPI 3.1 with named components, each described and with an example', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas).sort()).toEqual(Object.keys(COMPONENTS).sort());
    for (const [name, schema] of Object.entries<any>(doc.components.schemas)) {
      expect(schema.description, name).toMatch(/\S/);
      expect(schema.examples?.length, name).toBeGreaterThan(0);
    }
    for (const name of ['RegistrationBody', 'RegistrationAnswer', 'PurchaseBody', 'Event', 'EventList', 'Endpoint', 'Problem', 'RegisteredUser']) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    // Request bodies and JSON answers refer to components rather than repeating them.
    for (const { where, op } of operationsOf(doc)) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) expect(body.$ref, where).toMatch(/^#\/components\/schemas\//);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        const json = response.content?.['application/json']?.schema;
        if (json) expect(json.$ref, `${where} ${status}`).toMatch(/^#\/components\/schemas\//);
      }
    }
  });

  it('names, describes, tags and secures every operation; every response has a real description', () => {
    const ids = new Set<string>();
    for (const { where, op } of operationsOf(doc)) {
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(op.operationId), `${where}: operationId ${op.operationId} twice`).toBe(false);
      ids.add(op.operationId);
      expect(op.summary, where).toMatch(/\S/);
      expect(op.description, where).toMatch(/\S/);
      expect(op.tags?.length, where).toBeGreaterThan(0);
      expect(Array.isArray(op.security), `${where}: security`).toBe(true);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        expect(response.description, `${where} ${status}`).toMatch(/\S/);
        expect(response.description, `${where} ${status}`).not.toBe('Default Response');
      }
    }
    // Every row of the table is a documented operation, and every documented route has a row.
    const routes = operationsOf(doc).filter((o) => o.where.startsWith('paths'));
    expect(routes.map((o) => o.op.operationId).sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect(Object.keys(doc.paths)).toContain(REGISTERED_USER_SCHEMA_PATH);
  });

  it("answers every status each operation's codes have, as Problems with an example per code", () => {
    const problemCodes = (response: any): string[] => Object.keys(response?.content?.['application/problem+json']?.examples ?? {});
    for (const { where, method, path: p, op } of operationsOf(doc).filter((o) => o.where.startsWith('paths'))) {
      const table = OPERATIONS[op.operationId]!;
      for (const status of Object.keys(table.responses)) expect(op.responses[status], `${where} ${status}`).toBeDefined();

      const expected = new Set<ErrorCode>([...(table.problems ?? []), 'REGHOOK_INTERNAL']);
      const secured = op.security.length > 0;
      if (secured) for (const code of ['REGHOOK_UNAUTHORIZED', 'REGHOOK_RATE_LIMITED', 'REGHOOK_NOT_READY'] as const) expected.add(code);
      if (['POST', 'PUT', 'DELETE'].includes(method)) {
        for (const code of ['REGHOOK_VALIDATION', 'REGHOOK_BODY_TOO_LARGE', 'REGHOOK_UNSUPPORTED_MEDIA_TYPE'] as const) expected.add(code);
      }
      if ((op.parameters ?? []).length > 0) expected.add('REGHOOK_VALIDATION');
      if (p.includes('{appId}')) expected.add('REGHOOK_PROJECT_NOT_FOUND');
      if (secured && op.security.every((s: object) => Object.keys(s).includes('adminToken'))) expected.add('REGHOOK_ADMIN_ONLY');

      const documented = Object.entries<any>(op.responses).flatMap(([status, response]) =>
        problemCodes(response).map((code) => [status, code] as const),
      );
      expect(new Set(documented.map(([, code]) => code)), where).toEqual(expected);
      for (const [status, code] of documented) {
        expect(Number(status), `${where}: ${code}`).toBe(ERROR_CATALOGUE[code as ErrorCode].status);
        const response = op.responses[status];
        expect(response.content['application/problem+json'].schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Problem' });
        expect(response.description, `${where} ${status}`).toContain(code);
        if (status === '429' || status === '503') expect(response.headers?.['retry-after'], `${where} ${status}`).toBeDefined();
      }
    }
  });

  it('resolves every $ref', () => {
    const refs = refsOf(doc);
    expect(refs.length).toBeGreaterThan(50);
    const broken = refs.filter(({ ref }) => resolvePointer(doc, ref) === undefined).map(({ at, ref }) => `${at}: ${ref}`);
    expect(broken).toEqual([]);
  });

  it('has examples that validate against their schemas: components, problems, parameters', () => {
    const ajv = newAjv();
    ajv.addSchema(doc, 'openapi.json');
    let checked = 0;
    for (const [name, schema] of Object.entries<any>(doc.components.schemas)) {
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${name}`)!;
      for (const example of schema.examples) {
        expect(validate(example), `${name}: ${ajv.errorsText(validate.errors)}: ${JSON.stringify(example)}`).toBe(true);
        checked++;
      }
    }
    for (const { where, op } of operationsOf(doc)) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        for (const [type, media] of Object.entries<any>(response.content ?? {})) {
          for (const [name, example] of Object.entries<any>(media.examples ?? {})) {
            const validate = ajv.getSchema(`openapi.json${media.schema.$ref}`)!;
            expect(validate(example.value), `${where} ${status} ${type} ${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
            checked++;
          }
        }
      }
      for (const parameter of op.parameters ?? []) {
        if (parameter.example === undefined) continue;
        const validate = ajv.compile(parameter.schema);
        expect(validate(parameter.example), `${where} ${parameter.name}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('has component examples that the API itself accepts (its own validator and formats)', () => {
    for (const [name, schema] of Object.entries<any>(COMPONENTS)) {
      const validate = compileValidator({ schema, httpPart: 'body' });
      for (const example of schema.examples ?? []) expect(validate(example), `${name}: ${JSON.stringify(example)}`).toBe(true);
    }
  });

  it('describes the outgoing webhook under `webhooks`: signed headers, the RegisteredUser body, 200 = delivered', () => {
    const hook = doc.webhooks?.userRegistered?.post;
    expect(hook).toBeDefined();
    const headers = Object.fromEntries((hook.parameters as any[]).map((p) => [p.name, p]));
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect(headers[name]?.in, name).toBe('header');
      expect(headers[name]?.required, name).toBe(true);
      expect(headers[name]?.description, name).toMatch(/\S/);
    }
    expect(hook.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RegisteredUser' });
    expect(hook.responses['200'].description).toMatch(/[Dd]elivered/);
    expect(hook.responses.default.description).toMatch(/retried/);
  });
});

describe('GET /schemas/registered-user.json', () => {
  let svc: TestService;
  let receiver: Receiver;

  beforeAll(async () => {
    svc = await startTestService();
    receiver = await startReceiver();
    await svc.createProject(1);
    await svc.setEndpoint(1, receiver.url);
  });
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  const fetchSchema = (headers: Record<string, string> = {}) =>
    svc.app!.inject({ method: 'GET', url: REGISTERED_USER_SCHEMA_PATH, headers });

  it('is public, application/schema+json, draft 2020-12 with an $id, and cacheable', async () => {
    const res = await fetchSchema();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/schema\+json/);
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    const schema = res.json();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^[a-z][a-z0-9+.-]*:/);
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await fetchSchema({ 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await fetchSchema({ 'if-none-match': '"something-else"' })).statusCode).toBe(200);
  });

  it('validates the body the domain builds, and refuses a broken one', async () => {
    const ajv = newAjv();
    const validate = ajv.compile((await fetchSchema()).json());
    const report = registration({ appId: 1, country: undefined, subscriberName: undefined, registerDate: '2020-03-20T15:35:41+03:00' });
    const body = JSON.parse(normalizeRegistration(report as unknown as RegistrationReport).body);
    expect(validate(body), ajv.errorsText(validate.errors)).toBe(true);
    expect(validate({ ...body, registerDate: '2020-03-20T12:35:41Z' })).toBe(false);
    expect(validate({ ...body, appId: '1' })).toBe(false);
  });

  it('validates a really delivered webhook, whose headers match the document too', async () => {
    const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1 }));
    expect(res.status).toBe(202);
    const [delivered] = await receiver.waitFor(1);
    const ajv = newAjv();
    const validate = ajv.compile((await fetchSchema()).json());
    expect(validate(JSON.parse(delivered!.body)), ajv.errorsText(validate.errors)).toBe(true);

    const doc = (await svc.app!.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const parameter of doc.webhooks.userRegistered.post.parameters) {
      const raw = delivered!.headers[parameter.name] as string;
      const value = parameter.schema.type === 'integer' ? Number(raw) : raw;
      expect(ajv.compile(parameter.schema)(value), `${parameter.name}: ${raw}`).toBe(true);
    }
  });
});

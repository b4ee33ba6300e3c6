import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registration, startTestService, type TestService } from './helpers/service.js';

let svc: TestService;
let key1: string;

beforeAll(async () => {
  svc = await startTestService();
  key1 = await svc.createProject(1);
  await svc.createProject(2);
  await svc.setEndpoint(1, 'http://127.0.0.1:9/one');
});
afterAll(async () => {
  await svc.stop();
});

// Every project-scoped route, as [method, path, body].
const projectRoutes = (appId: number): [string, string, unknown?][] => [
  ['GET', `/v1/projects/${appId}`],
  ['GET', `/v1/projects/${appId}/api-keys`],
  ['POST', `/v1/projects/${appId}/api-keys`],
  ['DELETE', `/v1/projects/${appId}/api-keys/key_0000000000000000`],
  ['GET', `/v1/projects/${appId}/webhook`],
  ['PUT', `/v1/projects/${appId}/webhook`, { url: 'http://127.0.0.1:9/x' }],
  ['POST', `/v1/projects/${appId}/webhook/secret`],
  ['POST', `/v1/projects/${appId}/webhook/secret/rotate`],
  ['POST', `/v1/projects/${appId}/webhook/test`],
  ['GET', `/v1/projects/${appId}/events`],
  ['GET', `/v1/projects/${appId}/events/evt_00000000000000000000000000`],
  ['POST', `/v1/projects/${appId}/events/evt_00000000000000000000000000/redeliver`],
  ['POST', `/v1/projects/${appId}/events/recover`, { since: '2020-01-01T00:00:00Z' }],
];

describe('authentication', () => {
  it('no token answers 401 problem+json', async () => {
    const res = await svc.app!.inject({ method: 'GET', url: '/v1/projects' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each(['Bearer nope', 'Basic abc', 'Bearer ', `bearer${' '}x`])('authorization %j answers 401', async (authorization) => {
    const res = await svc.app!.inject({ method: 'GET', url: '/v1/projects', headers: { authorization } });
    expect(res.statusCode).toBe(401);
  });

  it('a project key cannot call admin routes (ingest, project creation)', async () => {
    expect((await svc.call('POST', '/v1/registrations', registration(), key1)).status).toBe(403);
    expect((await svc.call('POST', '/v1/projects', { appId: 3, name: 'x' }, key1)).status).toBe(403);
    expect((await svc.call('GET', '/v1/projects', undefined, key1)).status).toBe(403);
  });

  it.each(projectRoutes(2))('a project key on another project: %s %s answers 404, never 403', async (method, url, body) => {
    const res = await svc.call(method, url, body, key1);
    expect(res.status).toBe(404);
  });

  it('a project key on a project that does not exist answers the same 404', async () => {
    const other = await svc.call('GET', '/v1/projects/2/webhook', undefined, key1);
    const missing = await svc.call('GET', '/v1/projects/777/webhook', undefined, key1);
    expect(missing.status).toBe(404);
    expect(missing.json.title).toBe(other.json.title);
  });

  it('a project key reaches its own project', async () => {
    const res = await svc.call('GET', '/v1/projects/1/webhook', undefined, key1);
    expect(res.status).toBe(200);
    expect(res.json.url).toBe('http://127.0.0.1:9/one');
  });

  it('a revoked key answers 401; keys are listed without their secret part', async () => {
    const created = await svc.call('POST', '/v1/projects/2/api-keys');
    expect(created.status).toBe(201);
    expect(created.json.apiKey).toMatch(/^rhk_[A-Za-z0-9_-]{43}$/);
    expect((await svc.call('GET', '/v1/projects/2', undefined, created.json.apiKey)).status).toBe(200);
    const revoked = await svc.call('DELETE', `/v1/projects/2/api-keys/${created.json.id}`);
    expect(revoked.status).toBe(204);
    expect((await svc.call('GET', '/v1/projects/2', undefined, created.json.apiKey)).status).toBe(401);
    const project = await svc.call('GET', '/v1/projects/2');
    expect(JSON.stringify(project.json)).not.toContain(created.json.apiKey);
    expect(project.json.apiKeys.find((k: any) => k.id === created.json.id).revokedAt).not.toBeNull();
  });

  it('operations routes are public', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs', '/metrics']) {
      const res = await svc.app!.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it('/openapi.json describes every route with the schemas that validate it', async () => {
    const doc = (await svc.app!.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    // The body is a named component (#/components/schemas/RegistrationBody).
    const { $ref } = doc.paths['/v1/registrations'].post.requestBody.content['application/json'].schema;
    const reg = doc.components.schemas[String($ref).replace('#/components/schemas/', '')];
    expect(reg.additionalProperties).toBe(false);
    expect(reg.required).toContain('clientUuid');
    for (const path of ['/v1/purchases', '/v1/projects/{appId}/webhook', '/v1/projects/{appId}/events/{eventId}/redeliver']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});

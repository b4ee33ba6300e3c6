/** SPEC section 5: a project key lists and revokes its own project's keys; only the admin token creates one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('api keys');

describe.each(backends)('API keys (%s)', (backend) => {
  let svc: TestService;
  let key1: string;

  beforeAll(async () => {
    svc = await startTestService({}, undefined, backend);
    key1 = await svc.createProject(1);
    await svc.createProject(2);
  });
  afterAll(async () => {
    await svc.stop();
  });

  it('a project key cannot mint a key for its own project: 403 problem+json, nothing created', async () => {
    const before = await svc.call('GET', '/v1/projects/1/api-keys');
    const minted = await svc.call('POST', '/v1/projects/1/api-keys', undefined, key1);
    expect(minted.status).toBe(403);
    expect(minted.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(minted.json.code).toBe('REGHOOK_ADMIN_ONLY');
    expect(minted.json.apiKey).toBeUndefined();
    const after = await svc.call('GET', '/v1/projects/1/api-keys');
    expect(after.json.data).toHaveLength(before.json.data.length);
  });

  it('a project key on another project still answers 404 there, never 403', async () => {
    expect((await svc.call('POST', '/v1/projects/2/api-keys', undefined, key1)).status).toBe(404);
    expect((await svc.call('GET', '/v1/projects/2/api-keys', undefined, key1)).status).toBe(404);
  });

  it('a leaked key revoked by the admin leaves no successor that still works', async () => {
    const leaked = await svc.createProject(3);
    const minted = await svc.call('POST', '/v1/projects/3/api-keys', undefined, leaked);
    expect(minted.status).toBe(403);
    const keys = await svc.call('GET', '/v1/projects/3/api-keys');
    expect(keys.json.data).toHaveLength(1);
    expect((await svc.call('DELETE', `/v1/projects/3/api-keys/${keys.json.data[0].id}`)).status).toBe(204);
    expect((await svc.call('GET', '/v1/projects/3', undefined, leaked)).status).toBe(401);
  });

  it('the admin token creates a key (shown once); GET …/api-keys lists keys, never the keys themselves', async () => {
    const created = await svc.call('POST', '/v1/projects/1/api-keys');
    expect(created.status).toBe(201);
    expect(created.json.apiKey).toMatch(/^rhk_[A-Za-z0-9_-]{43}$/);
    for (const token of [undefined, key1]) {
      const list = await svc.call('GET', '/v1/projects/1/api-keys', undefined, token);
      expect(list.status).toBe(200);
      expect(list.json.nextCursor).toBeNull();
      const ids = list.json.data.map((k: { id: string }) => k.id);
      expect(ids).toContain(created.json.id);
      expect(Object.keys(list.json.data[0]).sort()).toEqual(['createdAt', 'id', 'prefix', 'revokedAt']);
      expect(JSON.stringify(list.json)).not.toContain(created.json.apiKey);
      expect(JSON.stringify(list.json)).not.toContain(key1);
    }
  });

  it('a project key revokes one of its own project\'s keys (audited)', async () => {
    const created = await svc.call('POST', '/v1/projects/1/api-keys');
    const revoked = await svc.call('DELETE', `/v1/projects/1/api-keys/${created.json.id}`, undefined, key1);
    expect(revoked.status).toBe(204);
    expect((await svc.call('GET', '/v1/projects/1', undefined, created.json.apiKey)).status).toBe(401);
    const list = await svc.call('GET', '/v1/projects/1/api-keys', undefined, key1);
    expect(list.json.data.find((k: { id: string }) => k.id === created.json.id).revokedAt).not.toBeNull();
    const audit = await svc.call('GET', '/v1/projects/1/audit-log');
    expect(JSON.stringify(audit.json)).toContain('api_key.revoked');
  });
});

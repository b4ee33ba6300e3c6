/**
 * SPEC sections 5 and 7: `POST /v1/projects/{appId}/portal-sessions` mints a single-use,
 * short-lived link (admin only), built on REGHOOK_PUBLIC_URL, stored hashed and audited without
 * the token; `GET /portal/<token>` uses it once, before it expires. Both stores.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogs, startTestService, testBackends, type TestService } from '../helpers/service.js';

const backends = await testBackends('portal sessions');
const PUBLIC_URL = 'https://reghook.example.com';
const T0 = Date.UTC(2024, 4, 1, 9, 30);
const TOKEN = /^https:\/\/reghook\.example\.com\/portal\/([A-Za-z0-9_-]{43})$/;

describe.each(backends)('portal sessions (%s)', (backend) => {
  let svc: TestService;
  let key1: string;
  let now = T0;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_PUBLIC_URL: PUBLIC_URL }, { now: () => now }, backend);
    key1 = await svc.createProject(1);
    await svc.createProject(2);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const mint = (body?: unknown, appId = 1, token?: string) => svc.call('POST', `/v1/projects/${appId}/portal-sessions`, body, token);
  const tokenOf = (url: string) => TOKEN.exec(url)![1]!;
  const open = (token: string) => svc.app!.inject({ method: 'GET', url: `/portal/${token}` });
  const audit = async (appId = 1) => (await svc.call('GET', `/v1/projects/${appId}/audit-log?limit=250`)).json.data as Record<string, any>[];

  it('mints a 10-minute full session by default, built on REGHOOK_PUBLIC_URL, without a body or with one', async () => {
    const bare = await mint();
    expect(bare.status).toBe(201);
    expect(bare.json).toEqual({ id: expect.stringMatching(/^ps_[0-9a-f]{16}$/), url: expect.stringMatching(TOKEN), expiresAt: new Date(T0 + 600_000).toISOString(), readOnly: false });
    const readOnly = await mint({ expiresIn: '24h', readOnly: true });
    expect(readOnly.status).toBe(201);
    expect(readOnly.json).toMatchObject({ expiresAt: new Date(T0 + 86_400_000).toISOString(), readOnly: true });
    expect(tokenOf(readOnly.json.url)).not.toBe(tokenOf(bare.json.url));
    expect((await mint({ expiresIn: '90s' })).json.expiresAt).toBe(new Date(T0 + 90_000).toISOString());
  });

  it('refuses a lifetime over 24 hours, or one that is not a duration, with 400 naming /expiresIn', async () => {
    for (const expiresIn of ['25h', '2d', '86400001ms']) {
      const res = await mint({ expiresIn });
      expect(res.status, expiresIn).toBe(400);
      expect(res.json.code).toBe('REGHOOK_VALIDATION');
      expect(res.json.errors).toEqual([{ path: '/expiresIn', message: 'must be at most 24h' }]);
    }
    for (const body of [{ expiresIn: '1h30m' }, { expiresIn: '0s' }, { expiresIn: 'soon' }, { expiresIn: 600 }, { readOnly: 'yes' }, { scope: 'all' }]) {
      const res = await mint(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.code).toBe('REGHOOK_VALIDATION');
    }
  });

  it('needs the admin token: 403 for the project own key, 404 for another project or none, 401 without a credential', async () => {
    const own = await mint({}, 1, key1);
    expect(own.status).toBe(403);
    expect(own.json.code).toBe('REGHOOK_ADMIN_ONLY');
    expect(own.json.url).toBeUndefined();
    expect((await mint({}, 2, key1)).status).toBe(404);
    const missing = await mint({}, 999);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('REGHOOK_PROJECT_NOT_FOUND');
    expect((await mint({}, 1, 'not-a-token')).status).toBe(401);
  });

  it('audits the minting with the link id, never the token or its hash', async () => {
    const minted = await mint({ readOnly: true });
    const token = tokenOf(minted.json.url);
    const entries = await audit();
    const entry = entries.find((e) => e.action === 'portal_session.created' && e.details.portalSessionId === minted.json.id);
    expect(entry).toMatchObject({ actor: 'admin', details: { portalSessionId: minted.json.id, readOnly: true, expiresAt: minted.json.expiresAt, via: 'api' } });
    const text = JSON.stringify(entries);
    expect(text).not.toContain(token);
    expect(text).not.toContain(createHash('sha256').update(token).digest('hex'));
  });

  it('opens a session once: a second use, and any use after expiresAt, is refused (410) and audits nothing', async () => {
    const minted = await mint({ expiresIn: '10m' });
    const token = tokenOf(minted.json.url);
    const first = await open(token);
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe('/projects/1/webhooks');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    expect(first.cookies.find((c) => c.name === 'reghook_session')?.value).toBeTruthy();
    const opened = (await audit()).filter((e) => e.action === 'portal_session.opened');
    expect(opened.at(0)).toMatchObject({ actor: `portal:${minted.json.id}`, details: { portalSessionId: minted.json.id, readOnly: false, via: 'dashboard' } });

    const before = (await audit()).length;
    const again = await open(token);
    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('This link has expired or was already used');
    expect(again.headers['set-cookie']).toBeUndefined();

    const late = await mint({ expiresIn: '10m' });
    now += 600_000;
    const expired = await open(tokenOf(late.json.url));
    expect(expired.statusCode).toBe(410);
    expect(expired.headers['set-cookie']).toBeUndefined();
    for (const bogus of ['x'.repeat(43), 'short', `${token}x`]) expect((await open(bogus)).statusCode).toBe(410);
    expect((await audit()).length).toBe(before + 1); // only `late`'s creation
    now = T0;
  });

  it('is not used up by a HEAD request (a link checker, a prefetch)', async () => {
    const token = tokenOf((await mint()).json.url);
    const head = await svc.app!.inject({ method: 'HEAD', url: `/portal/${token}` });
    expect(head.statusCode).toBe(404);
    expect(head.headers['set-cookie']).toBeUndefined();
    expect((await open(token)).statusCode).toBe(303);
  });

  it('gives exactly one of two simultaneous uses the session', async () => {
    const token = tokenOf((await mint()).json.url);
    const uses = await Promise.all([open(token), open(token)]);
    expect(uses.map((u) => u.statusCode).sort()).toEqual([303, 410]);
  });

  it('keeps link tokens out of the logs: the path is redacted', async () => {
    const token = tokenOf((await mint()).json.url);
    await open(token);
    await open(token);
    const logs = capturedLogs.join('');
    expect(logs).toContain('/portal/[redacted]');
    expect(logs).not.toContain(token);
  });
});

describe('portal session links without REGHOOK_PUBLIC_URL', () => {
  it('are built on the address the service listens on', async () => {
    const svc = await startTestService();
    try {
      await svc.createProject(1);
      const res = await svc.call('POST', '/v1/projects/1/portal-sessions', {});
      expect(res.status).toBe(201);
      expect(res.json.url).toMatch(new RegExp(`^${svc.url!.replace(/\./g, '\\.')}/portal/[A-Za-z0-9_-]{43}$`));
    } finally {
      await svc.stop();
    }
  });
});

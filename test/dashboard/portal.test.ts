import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually, registration, startTestService, type TestService } from '../helpers/service.js';

// SPEC §5/§6/§7 at the HTTP level: portal sessions in the dashboard. A read-only one renders no
// POST form (the log's GET search, a filter, stays) and every POST answers 403; a full one does what a project key does and creates keys.
// The cookie and framing headers: strict by default, embeddable with
// REGHOOK_DASHBOARD_FRAME_ANCESTORS, the Origin check and CSRF token enforced either way.
const HOST = 'dash.test';
const PANEL = 'http://localhost:5173';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

interface Portal {
  cookie: string;
  /** The session's CSRF token, read from the (signed, not encrypted) cookie: a read-only page shows none. */
  csrf: string;
  setCookie: string;
}

function client(svc: () => TestService, origin: string) {
  const request = (method: 'GET' | 'POST', url: string, opts: { cookie?: string; body?: Record<string, string>; origin?: string } = {}) =>
    svc().app!.inject({
      method,
      url,
      headers: {
        host: HOST,
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded', origin: opts.origin ?? origin } : {}),
      },
      ...(opts.body ? { payload: form(opts.body) } : {}),
    });
  async function portal(appId: number, body: Record<string, unknown> = {}): Promise<Portal> {
    const minted = await svc().call('POST', `/v1/projects/${appId}/portal-sessions`, body);
    expect(minted.status).toBe(201);
    const res = await request('GET', new URL(minted.json.url).pathname);
    expect(res.statusCode).toBe(303);
    const value = res.cookies.find((c) => c.name === 'reghook_session')!.value;
    const claims = JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8')) as { csrf: string };
    return { cookie: `reghook_session=${value}`, csrf: claims.csrf, setCookie: String(res.headers['set-cookie']) };
  }
  return { request, portal };
}

describe('portal sessions in the dashboard (default: not embeddable)', () => {
  let svc: TestService;
  let receiver: Receiver;
  let eventId: string;
  const { request, portal } = client(() => svc, `http://${HOST}`);

  beforeAll(async () => {
    svc = await startTestService();
    receiver = await startReceiver(answer(200));
    await svc.createProject(1, 'Portal Shop');
    await svc.createProject(2, 'Other Shop');
    await svc.setEndpoint(1, receiver.url);
    eventId = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
    // Delivered before the tests start: a late first delivery must not count as a change a read-only POST made.
    await eventually(() => (receiver.requests.length > 0 ? true : undefined));
  });
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  it('keep the strict cookie and refuse every frame', async () => {
    const session = await portal(1);
    expect(session.setCookie).toMatch(/HttpOnly/);
    expect(session.setCookie).toMatch(/SameSite=Strict/);
    expect(session.setCookie).not.toMatch(/Partitioned|SameSite=None/i);
    const page = await request('GET', '/projects/1/webhooks', { cookie: session.cookie });
    expect(page.statusCode).toBe(200);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });

  it('read-only: every page shows the project and holds no POST form; the log keeps its GET search', async () => {
    const session = await portal(1, { readOnly: true });
    for (const url of ['/projects/1/webhooks', '/projects/1/settings', `/projects/1/events/${eventId}`, `/projects/1/events/${eventId}?reveal=1`]) {
      const page = await request('GET', url, { cookie: session.cookie });
      expect(page.statusCode, url).toBe(200);
      expect(page.body, url).not.toMatch(/method="post"|name="_csrf"/i);
      // The one form a read-only page may hold is the log's search (GET), with its one button.
      expect(page.body.match(/<form /g)?.length ?? 0, url).toBe(url === '/projects/1/webhooks' ? 1 : 0);
      expect(page.body.match(/<button type="submit"/g)?.length ?? 0, url).toBe(url === '/projects/1/webhooks' ? 1 : 0);
      expect(page.body, url).toContain('Project 1, opened from the platform · read-only');
    }
    const searched = await request('GET', `/projects/1/webhooks?q=${eventId}`, { cookie: session.cookie });
    expect(searched.body).toContain('<form method="get" action="/projects/1/webhooks#log" class="search" role="search"');
    expect(searched.body).toContain(`value="${eventId}"`);
    const webhooks = await request('GET', '/projects/1/webhooks', { cookie: session.cookie });
    expect(webhooks.body).toContain(receiver.url);
    expect(webhooks.body).toContain(eventId);
    expect((await request('GET', '/projects/2/webhooks', { cookie: session.cookie })).statusCode).toBe(404);
  });

  it('read-only: every state-changing POST answers 403, even with the session CSRF token, and nothing changes', async () => {
    const session = await portal(1, { readOnly: true });
    const keyId = ((await svc.call('GET', '/v1/projects/1/api-keys')).json.data as { id: string }[])[0]!.id;
    const endpointBefore = await svc.store.getEndpoint(1);
    const keysBefore = (await svc.call('GET', '/v1/projects/1/api-keys')).json;
    const auditBefore = (await svc.call('GET', '/v1/projects/1/audit-log?limit=250')).json.data.length as number;
    const received = receiver.requests.length;
    const posts: [string, Record<string, string>][] = [
      ['/projects/1/webhooks/endpoint', { url: 'http://127.0.0.1:9/changed', enabled: 'on' }],
      ['/projects/1/webhooks/secret/reveal', {}],
      ['/projects/1/webhooks/secret/rotate', {}],
      ['/projects/1/webhooks/test', {}],
      ['/projects/1/webhooks/recover', { since: '2020-01-01T00:00' }],
      [`/projects/1/events/${eventId}/redeliver`, {}],
      ['/projects/1/settings/api-keys', {}],
      [`/projects/1/settings/api-keys/${keyId}/revoke`, {}],
      ['/projects/1/settings/erase', { subscriberId: '905555555555' }],
      ['/projects/1/settings/erase/confirm', { confirmation: 'x' }],
    ];
    for (const [url, fields] of posts) {
      const res = await request('POST', url, { cookie: session.cookie, body: { _csrf: session.csrf, ...fields } });
      expect(res.statusCode, url).toBe(403);
      expect(res.body, url).toContain('read-only session');
      expect(res.headers['set-cookie'], url).toBeUndefined();
    }
    expect(await svc.store.getEndpoint(1)).toEqual(endpointBefore);
    expect((await svc.call('GET', '/v1/projects/1/api-keys')).json).toEqual(keysBefore);
    expect((await svc.call('GET', '/v1/projects/1/audit-log?limit=250')).json.data.length).toBe(auditBefore);
    expect(receiver.requests.length).toBe(received);
  });

  it('full: does what a project key does, creates API keys, and is audited as the portal session', async () => {
    const session = await portal(1);
    expect((await request('GET', '/projects/1/webhooks', { cookie: session.cookie })).body).toContain('action="/projects/1/webhooks/endpoint"');
    const settings = await request('GET', '/projects/1/settings', { cookie: session.cookie });
    expect(settings.body).toContain('action="/projects/1/settings/api-keys"');

    const saved = await request('POST', '/projects/1/webhooks/endpoint', { cookie: session.cookie, body: { _csrf: session.csrf, url: `${receiver.url}?portal=1`, enabled: 'on' } });
    expect(saved.statusCode).toBe(303);
    expect((await svc.store.getEndpoint(1))!.url).toBe(`${receiver.url}?portal=1`);
    const created = await request('POST', '/projects/1/settings/api-keys', { cookie: session.cookie, body: { _csrf: session.csrf } });
    expect(created.statusCode).toBe(303);
    const flash = created.cookies.find((c) => c.name === 'reghook_flash')!.value;
    const shown = await request('GET', '/projects/1/settings', { cookie: `${session.cookie}; reghook_flash=${flash}` });
    const apiKey = /id="new-api-key" class="copyable">(rhk_[^<]+)</.exec(shown.body)?.[1];
    expect(apiKey).toBeTruthy();
    expect((await svc.call('GET', '/v1/projects/1/webhook', undefined, apiKey)).status).toBe(200);

    const audit = (await svc.call('GET', '/v1/projects/1/audit-log?limit=5')).json.data as { actor: string; action: string }[];
    expect(audit.slice(0, 2).map((e) => e.action)).toEqual(['api_key.created', 'endpoint.updated']);
    expect(new Set(audit.slice(0, 3).map((e) => e.actor)).size).toBe(1);
    expect(audit[0]!.actor).toMatch(/^portal:ps_[0-9a-f]{16}$/);
    // Still CSRF-protected and scoped to its project.
    expect((await request('POST', '/projects/1/webhooks/test', { cookie: session.cookie, body: { _csrf: 'forged' } })).statusCode).toBe(403);
    expect((await request('POST', '/projects/2/webhooks/test', { cookie: session.cookie, body: { _csrf: session.csrf } })).statusCode).toBe(404);
    await svc.setEndpoint(1, receiver.url);
  });
});

describe('portal sessions in the dashboard with REGHOOK_DASHBOARD_FRAME_ANCESTORS', () => {
  let svc: TestService;
  let receiver: Receiver;
  const { request, portal } = client(() => svc, `https://${HOST}`);

  beforeAll(async () => {
    svc = await startTestService({
      REGHOOK_DASHBOARD_FRAME_ANCESTORS: `${PANEL},https://*.panel.example.com`,
      REGHOOK_PUBLIC_URL: `https://${HOST}`,
    });
    receiver = await startReceiver(answer(200));
    await svc.createProject(1, 'Embedded Shop');
    await svc.setEndpoint(1, receiver.url);
  });
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  it('set SameSite=None; Secure; Partitioned cookies (session and flash) that a framed page gets back', async () => {
    const session = await portal(1);
    for (const attribute of [/HttpOnly/, /SameSite=None/, /Secure/, /Partitioned/, /Path=\//]) expect(session.setCookie).toMatch(attribute);
    expect(session.setCookie).not.toMatch(/SameSite=Strict/);
    const tested = await request('POST', '/projects/1/webhooks/test', { cookie: session.cookie, body: { _csrf: session.csrf } });
    expect(tested.statusCode).toBe(303);
    expect(String(tested.headers['set-cookie'])).toMatch(/reghook_flash=[^;]+;.*SameSite=None.*Partitioned|reghook_flash=[^;]+;.*Partitioned.*SameSite=None/);
  });

  it('let exactly the listed origins frame every page and redirect, with no X-Frame-Options', async () => {
    const session = await portal(1);
    for (const url of ['/', '/projects/1/webhooks', '/projects/1/settings']) {
      const res = await request('GET', url, url === '/' ? {} : { cookie: session.cookie });
      expect(res.headers['x-frame-options'], url).toBeUndefined();
      const csp = String(res.headers['content-security-policy']);
      expect(csp, url).toContain(`frame-ancestors ${PANEL} https://*.panel.example.com;`);
    }
  });

  it('accept a form only from the dashboard own origin: never from the embedding page, nor another scheme', async () => {
    const session = await portal(1);
    const body = { _csrf: session.csrf, url: 'http://127.0.0.1:9/from-panel', enabled: 'on' };
    for (const origin of [PANEL, `http://${HOST}`, 'https://x.panel.example.com', 'null']) {
      const res = await request('POST', '/projects/1/webhooks/endpoint', { cookie: session.cookie, body, origin });
      expect(res.statusCode, origin).toBe(403);
    }
    expect((await request('POST', '/projects/1/webhooks/endpoint', { cookie: session.cookie, body: { ...body, _csrf: 'stale' } })).statusCode).toBe(403);
    expect((await svc.store.getEndpoint(1))!.url).toBe(receiver.url);
    const own = await request('POST', '/projects/1/webhooks/endpoint', { cookie: session.cookie, body: { ...body, url: `${receiver.url}?own=1` } });
    expect(own.statusCode).toBe(303);
    expect((await svc.store.getEndpoint(1))!.url).toBe(`${receiver.url}?own=1`);
  });
});

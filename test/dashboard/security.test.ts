import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, capturedLogs, registration, startTestService, type TestService } from '../helpers/service.js';

// SPEC §6/§7: the dashboard's session cookie, CSRF and same-origin checks, project scoping.
const HOST = 'dash.test';
const ORIGIN = `http://${HOST}`;
let svc: TestService;
let receiver: Receiver;
let key1: string;
let key2: string;

interface Signed {
  cookie: string;
  csrf: string;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function request(method: 'GET' | 'POST', url: string, opts: { cookie?: string; body?: Record<string, string>; origin?: string | null; referer?: string } = {}) {
  const headers: Record<string, string> = { host: HOST };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (method === 'POST') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    if (opts.origin !== null) headers.origin = opts.origin ?? ORIGIN;
    if (opts.referer) headers.referer = opts.referer;
  }
  return svc.app!.inject({ method, url, headers, ...(opts.body ? { payload: form(opts.body) } : {}) });
}

async function signIn(token: string): Promise<Signed> {
  const res = await request('POST', '/sign-in', { body: { token } });
  expect(res.statusCode).toBe(303);
  const session = res.cookies.find((c) => c.name === 'reghook_session')!;
  const cookie = `reghook_session=${session.value}`;
  const page = await request('GET', res.headers.location as string, { cookie });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  expect(csrf).toBeTruthy();
  return { cookie, csrf: csrf! };
}

const endpointUrl = async (appId: number) => (await svc.call('GET', `/v1/projects/${appId}/webhook`)).json.url as string;

beforeAll(async () => {
  svc = await startTestService();
  receiver = await startReceiver(answer(200));
  key1 = await svc.createProject(1);
  key2 = await svc.createProject(2);
  await svc.setEndpoint(1, receiver.url);
  await svc.setEndpoint(2, receiver.url);
});
afterAll(async () => {
  await receiver?.close();
  await svc?.stop();
});

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/, lives 12 h and never holds the raw key', async () => {
    const res = await request('POST', '/sign-in', { body: { token: key1 } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/projects/1/webhooks');
    const raw = String(res.headers['set-cookie']);
    expect(raw).toMatch(/reghook_session=/);
    expect(raw).toMatch(/HttpOnly/i);
    expect(raw).toMatch(/SameSite=Strict/i);
    expect(raw).toMatch(/Path=\//);
    expect(raw).toMatch(/Max-Age=43200/);
    expect(raw).not.toMatch(/Secure/i); // plain http here; Secure is set when the request came over TLS
    expect(raw).not.toContain(key1);
    expect(raw).not.toContain(key1.slice(4));
  });

  it('is refused when forged or tampered with', async () => {
    const { cookie } = await signIn(key1);
    const [name, value] = cookie.split('=') as [string, string];
    const [payload, mac] = value.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, appId: 2 })).toString('base64url');
    const res = await request('GET', '/projects/2/webhooks', { cookie: `${name}=${forged}.${mac}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?m=ended');
  });

  it('signs out the session of a key that is revoked', async () => {
    const created = await svc.call('POST', '/v1/projects/1/api-keys');
    expect(created.status).toBe(201);
    const signed = await signIn(created.json.apiKey);
    expect((await request('GET', '/projects/1/webhooks', { cookie: signed.cookie })).statusCode).toBe(200);

    expect((await svc.call('DELETE', `/v1/projects/1/api-keys/${created.json.id}`)).status).toBe(204);
    const after = await request('GET', '/projects/1/webhooks', { cookie: signed.cookie });
    expect(after.statusCode).toBe(303);
    expect(after.headers.location).toBe('/?m=ended');
    expect(String(after.headers['set-cookie'])).toMatch(/reghook_session=;.*Expires=Thu, 01 Jan 1970/);
    // A POST with the dead session changes nothing either.
    const post = await request('POST', '/projects/1/webhooks/endpoint', {
      cookie: signed.cookie,
      body: { _csrf: signed.csrf, url: 'http://127.0.0.1:9/revoked', enabled: 'on' },
    });
    expect(post.statusCode).toBe(303);
    expect(await endpointUrl(1)).toBe(receiver.url);
  });

  it('is cleared by signing out', async () => {
    const signed = await signIn(key1);
    const res = await request('POST', '/sign-out', { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?m=signed-out');
    expect(String(res.headers['set-cookie'])).toMatch(/reghook_session=;/);
  });
});

describe('state-changing forms', () => {
  it('refuses a cross-site POST carrying a valid session and CSRF token with 403, changing nothing', async () => {
    const signed = await signIn(key1);
    const body = { _csrf: signed.csrf, url: 'http://127.0.0.1:9/evil', enabled: 'on' };
    const foreign = await request('POST', '/projects/1/webhooks/endpoint', { cookie: signed.cookie, body, origin: 'http://evil.example' });
    expect(foreign.statusCode).toBe(403);
    const foreignReferer = await request('POST', '/projects/1/webhooks/endpoint', {
      cookie: signed.cookie,
      body,
      origin: null,
      referer: 'http://evil.example/page',
    });
    expect(foreignReferer.statusCode).toBe(403);
    const neither = await request('POST', '/projects/1/webhooks/endpoint', { cookie: signed.cookie, body, origin: null });
    expect(neither.statusCode).toBe(403);
    const rotate = await request('POST', '/projects/1/webhooks/secret/rotate', { cookie: signed.cookie, body, origin: 'null' });
    expect(rotate.statusCode).toBe(403);
    expect(await endpointUrl(1)).toBe(receiver.url);
    expect((await svc.store.getEndpoint(1))!.previousSecretSealed).toBeNull();

    // The same request from the dashboard's own origin (or, without Origin, its own Referer) goes through.
    const sameReferer = await request('POST', '/projects/1/webhooks/endpoint', {
      cookie: signed.cookie,
      body: { ...body, url: receiver.url + '?via=referer' },
      origin: null,
      referer: `${ORIGIN}/projects/1/webhooks`,
    });
    expect(sameReferer.statusCode).toBe(303);
    expect(await endpointUrl(1)).toBe(receiver.url + '?via=referer');
    await svc.setEndpoint(1, receiver.url);
  });

  it('refuses a POST without, or with a wrong, CSRF token', async () => {
    const signed = await signIn(key1);
    const url = 'http://127.0.0.1:9/csrf';
    const missing = await request('POST', '/projects/1/webhooks/endpoint', { cookie: signed.cookie, body: { url, enabled: 'on' } });
    expect(missing.statusCode).toBe(403);
    const wrong = await request('POST', '/projects/1/webhooks/endpoint', {
      cookie: signed.cookie,
      body: { _csrf: signed.csrf.slice(0, -2) + 'xx', url, enabled: 'on' },
    });
    expect(wrong.statusCode).toBe(403);
    const other = await signIn(key1); // another session's token is not this session's
    const foreignToken = await request('POST', '/projects/1/webhooks/endpoint', { cookie: signed.cookie, body: { _csrf: other.csrf, url, enabled: 'on' } });
    expect(foreignToken.statusCode).toBe(403);
    const signOut = await request('POST', '/sign-out', { cookie: signed.cookie, body: {} });
    expect(signOut.statusCode).toBe(403);
    expect(await endpointUrl(1)).toBe(receiver.url);

    const right = await request('POST', '/projects/1/webhooks/endpoint', { cookie: signed.cookie, body: { _csrf: signed.csrf, url: receiver.url, enabled: 'on' } });
    expect(right.statusCode).toBe(303);
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await request('POST', '/sign-in', { body: { token: key1 }, origin: 'http://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('project scoping', () => {
  it("answers 404, never 403, to a project key opening another project's pages", async () => {
    const signed = await signIn(key1);
    const reg = await svc.call('POST', '/v1/registrations', registration({ appId: 2 }));
    expect(reg.status).toBe(202);
    const eventId = reg.json.eventId as string;

    expect((await request('GET', '/projects/1/webhooks', { cookie: signed.cookie })).statusCode).toBe(200);
    expect((await request('GET', '/projects/2/webhooks', { cookie: signed.cookie })).statusCode).toBe(404);
    expect((await request('GET', '/projects/999/webhooks', { cookie: signed.cookie })).statusCode).toBe(404);
    expect((await request('GET', `/projects/2/events/${eventId}`, { cookie: signed.cookie })).statusCode).toBe(404);
    expect((await request('GET', `/projects/1/events/${eventId}`, { cookie: signed.cookie })).statusCode).toBe(404);

    const test = await request('POST', '/projects/2/webhooks/test', { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(test.statusCode).toBe(404);
    const redeliver = await request('POST', `/projects/2/events/${eventId}/redeliver`, { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(redeliver.statusCode).toBe(404);
    const rotate = await request('POST', '/projects/2/webhooks/secret/rotate', { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(rotate.statusCode).toBe(404);
    expect((await svc.store.getEndpoint(2))!.previousSecretSealed).toBeNull();
    expect(receiver.requests.filter((r) => r.body.includes('"Test User"')).length).toBe(0);

    // The admin may open every project, and lands on the project list.
    const admin = await request('POST', '/sign-in', { body: { token: ADMIN_TOKEN } });
    expect(admin.headers.location).toBe('/projects');
    const adminCookie = `reghook_session=${admin.cookies.find((c) => c.name === 'reghook_session')!.value}`;
    const list = await request('GET', '/projects', { cookie: adminCookie });
    expect(list.body).toContain('href="/projects/2/webhooks"');
    expect((await request('GET', '/projects/2/webhooks', { cookie: adminCookie })).statusCode).toBe(200);
    expect((await request('GET', `/projects/2/events/${eventId}`, { cookie: adminCookie })).statusCode).toBe(200);
    void key2;
  });

  it('sends a signed-out visitor to the sign-in page', async () => {
    const res = await request('GET', '/projects/1/webhooks');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
  });
});

describe('pages', () => {
  it('carry no-store, anti-framing, referrer and a nonce-based CSP without unsafe-inline', async () => {
    const signed = await signIn(key1);
    for (const url of ['/', '/projects/1/webhooks']) {
      const res = await request('GET', url, url === '/' ? {} : { cookie: signed.cookie });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      expect(res.body).toContain(`<script nonce="${nonce}">`);
      expect(res.body).toContain(`<style nonce="${nonce}">`);
    }
  });

  it('escape what users and the platform typed', async () => {
    await svc.createProject(3, '<script>alert("x")</script>');
    const admin = await signIn(ADMIN_TOKEN);
    const list = await request('GET', '/projects', { cookie: admin.cookie });
    expect(list.body).not.toContain('<script>alert');
    expect(list.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('stay out of /openapi.json', async () => {
    const doc = (await svc.call('GET', '/openapi.json')).json;
    const published = ['/healthz', '/readyz', '/metrics', '/schemas/registered-user.json'];
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/') && !published.includes(p))).toEqual([]);
  });

  it('never put the signing secret in a cookie in clear, nor secrets or personal data in the logs', async () => {
    const signed = await signIn(key1);
    const secret = (await svc.call('POST', '/v1/projects/1/webhook/secret')).json.signingSecret as string;
    const reveal = await request('POST', '/projects/1/webhooks/secret/reveal', { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(reveal.statusCode).toBe(303);
    const flash = reveal.cookies.find((c) => c.name === 'reghook_flash')!;
    expect(flash.value).not.toContain(secret);
    expect(flash.httpOnly).toBe(true);
    const page = await request('GET', '/projects/1/webhooks', { cookie: `${signed.cookie}; reghook_flash=${flash.value}` });
    expect(page.body).toContain(secret);
    // Shown once: the page clears the flash.
    expect(String(page.headers['set-cookie'])).toMatch(/reghook_flash=;/);
    // The flash is bound to its session: another session cannot open it.
    const other = await signIn(key1);
    const stolen = await request('GET', '/projects/1/webhooks', { cookie: `${other.cookie}; reghook_flash=${flash.value}` });
    expect(stolen.body).not.toContain(secret);

    const logs = capturedLogs.join('');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(key1);
    expect(logs).not.toContain(signed.csrf);
    expect(logs).not.toContain(signed.cookie.split('=')[1]!.slice(0, 40));
  });
});

describe('the JSON API', () => {
  it('still answers 415 to a form-encoded POST /v1/registrations', async () => {
    const res = await svc.app!.inject({
      method: 'POST',
      url: '/v1/registrations',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ appId: '1', clientUuid: 'x' }),
    });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});

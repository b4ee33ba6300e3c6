import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIRMATION_LIFETIME_MS, ConfirmationCodec } from '../../src/dashboard/confirmation.js';
import type { Session } from '../../src/dashboard/session.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';
import { ADMIN_TOKEN, capturedLogs, registration, startTestService, type TestService } from '../helpers/service.js';

// SPEC §5/§6/§7 at the HTTP level: the Settings page's forms (API keys, erasure) are guarded like
// every dashboard form, keep to the operations' rules, and keep the erased person out of logs,
// URLs and the audit log.
const HOST = 'dash.test';
const ORIGIN = `http://${HOST}`;
/** Not in NEVER_LOGGED on purpose: this file checks it itself, everywhere it must not be. */
const PERSON = 'erase-me-5550199';
let svc: TestService;
let key1: string;

interface Signed {
  cookie: string;
  csrf: string;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function request(method: 'GET' | 'POST', url: string, opts: { cookie?: string; body?: Record<string, string>; origin?: string | null } = {}) {
  const headers: Record<string, string> = { host: HOST };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (method === 'POST') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    if (opts.origin !== null) headers.origin = opts.origin ?? ORIGIN;
  }
  return svc.app!.inject({ method, url, headers, ...(opts.body ? { payload: form(opts.body) } : {}) });
}

async function signIn(token: string): Promise<Signed> {
  const res = await request('POST', '/sign-in', { body: { token } });
  expect(res.statusCode).toBe(303);
  const cookie = `reghook_session=${res.cookies.find((c) => c.name === 'reghook_session')!.value}`;
  const page = await request('GET', '/projects/1/settings', { cookie });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  expect(csrf).toBeTruthy();
  return { cookie, csrf: csrf! };
}

/** The flash cookie a redirect set, as a Cookie header part for the next request. */
function flashOf(res: Awaited<ReturnType<typeof request>>): string {
  const flash = res.cookies.find((c) => c.name === 'reghook_flash');
  return flash === undefined ? '' : `; reghook_flash=${flash.value}`;
}

const keysOf = async (appId: number) => (await svc.call('GET', `/v1/projects/${appId}/api-keys`)).json.data as { id: string; revokedAt: string | null }[];
const auditOf = async (appId: number) => (await svc.call('GET', `/v1/projects/${appId}/audit-log?limit=250`)).json.data as { action: string; details: unknown }[];

beforeAll(async () => {
  svc = await startTestService();
  key1 = await svc.createProject(1, 'Settings Shop');
  await svc.createProject(2, 'Other Shop');
});
afterAll(async () => {
  await svc?.stop();
});

describe('the Settings page', () => {
  it('is linked from the Webhooks page and back', async () => {
    const signed = await signIn(key1);
    expect((await request('GET', '/projects/1/webhooks', { cookie: signed.cookie })).body).toContain('href="/projects/1/settings"');
    const page = await request('GET', '/projects/1/settings', { cookie: signed.cookie });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('href="/projects/1/webhooks"');
  });

  it('offers Create API key to the admin only; a project key sees the keys and their Revoke buttons', async () => {
    const admin = await signIn(ADMIN_TOKEN);
    const asAdmin = await request('GET', '/projects/1/settings', { cookie: admin.cookie });
    expect(asAdmin.body).toContain('action="/projects/1/settings/api-keys"');
    const project = await signIn(key1);
    const asKey = await request('GET', '/projects/1/settings', { cookie: project.cookie });
    expect(asKey.body).not.toContain('action="/projects/1/settings/api-keys"');
    expect(asKey.body).toContain('Only the platform admin can create API keys');
    const [first] = await keysOf(1);
    expect(asKey.body).toContain(`<code>${first!.id}</code>`);
    expect(asKey.body).toContain(`action="/projects/1/settings/api-keys/${first!.id}/revoke"`);
    expect(asKey.body).toContain('(this session)');
  });

  it('refuses create-key from a project key with 403, creating nothing', async () => {
    const signed = await signIn(key1);
    const before = await keysOf(1);
    const res = await request('POST', '/projects/1/settings/api-keys', { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Only the platform admin can create API keys');
    expect(res.cookies.find((c) => c.name === 'reghook_flash')).toBeUndefined();
    expect(await keysOf(1)).toEqual(before);
    expect((await auditOf(1)).filter((e) => e.action === 'api_key.created')).toEqual([]);
  });

  it('shows a key the admin created once, never in a URL nor in clear in a cookie, and the key works', async () => {
    const admin = await signIn(ADMIN_TOKEN);
    const created = await request('POST', '/projects/1/settings/api-keys', { cookie: admin.cookie, body: { _csrf: admin.csrf } });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe('/projects/1/settings#keys');
    const page = await request('GET', '/projects/1/settings', { cookie: admin.cookie + flashOf(created) });
    const apiKey = /<code id="new-api-key" class="copyable">(rhk_[^<]+)<\/code>/.exec(page.body)?.[1];
    expect(apiKey).toBeTruthy();
    expect(created.cookies.find((c) => c.name === 'reghook_flash')!.value).not.toContain(apiKey!);
    expect((await svc.call('GET', '/v1/projects/1/webhook', undefined, apiKey!)).status).not.toBe(401);
    expect((await svc.call('GET', '/v1/projects/1/api-keys', undefined, apiKey!)).status).toBe(200);
    // Shown once: the page cleared the flash, and without it the key is nowhere on the page.
    expect(String(page.headers['set-cookie'])).toMatch(/reghook_flash=;/);
    expect((await request('GET', '/projects/1/settings', { cookie: admin.cookie })).body).not.toContain(apiKey!);
    expect(capturedLogs.join('')).not.toContain(apiKey!);
  });

  it('revokes a key from a project-key session: that key gets 401', async () => {
    const extra = (await svc.call('POST', '/v1/projects/1/api-keys')).json as { id: string; apiKey: string };
    const signed = await signIn(key1);
    const res = await request('POST', `/projects/1/settings/api-keys/${extra.id}/revoke`, { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    expect(res.statusCode).toBe(303);
    expect((await svc.call('GET', '/v1/projects/1/api-keys', undefined, extra.apiKey)).status).toBe(401);
    const page = await request('GET', '/projects/1/settings', { cookie: signed.cookie + flashOf(res) });
    expect(page.body).toContain(`API key ${extra.id} revoked`);
    // Revoking it again changes nothing and says so.
    const again = await request('POST', `/projects/1/settings/api-keys/${extra.id}/revoke`, { cookie: signed.cookie, body: { _csrf: signed.csrf } });
    const after = await request('GET', '/projects/1/settings', { cookie: signed.cookie + flashOf(again) });
    expect(after.body).toContain(`There is no active key ${extra.id}`);
  });
});

describe('every Settings form', () => {
  it('refuses a missing or wrong CSRF token and a foreign Origin with 403, changing nothing', async () => {
    const extra = (await svc.call('POST', '/v1/projects/1/api-keys')).json as { id: string; apiKey: string };
    await svc.call('POST', '/v1/registrations', registration({ appId: 1, subscriberId: PERSON }));
    const admin = await signIn(ADMIN_TOKEN);
    // A genuine confirmation, so that only the guard can stop step 2.
    const step1 = await request('POST', '/projects/1/settings/erase', { cookie: admin.cookie, body: { _csrf: admin.csrf, subscriberId: PERSON } });
    const confirmation = /name="confirmation" value="([^"]+)"/.exec(step1.body)![1]!;
    const keysBefore = await keysOf(1);
    const auditBefore = await auditOf(1);
    const forms: [string, Record<string, string>][] = [
      ['/projects/1/settings/api-keys', {}],
      [`/projects/1/settings/api-keys/${extra.id}/revoke`, {}],
      ['/projects/1/settings/erase', { subscriberId: PERSON }],
      ['/projects/1/settings/erase/confirm', { confirmation }],
    ];
    for (const [url, fields] of forms) {
      const missing = await request('POST', url, { cookie: admin.cookie, body: fields });
      expect(missing.statusCode, `${url} without a token`).toBe(403);
      const wrong = await request('POST', url, { cookie: admin.cookie, body: { ...fields, _csrf: admin.csrf.slice(0, -2) + 'xx' } });
      expect(wrong.statusCode, `${url} with a wrong token`).toBe(403);
      const foreign = await request('POST', url, { cookie: admin.cookie, body: { ...fields, _csrf: admin.csrf }, origin: 'http://evil.example' });
      expect(foreign.statusCode, `${url} from another origin`).toBe(403);
      const noOrigin = await request('POST', url, { cookie: admin.cookie, body: { ...fields, _csrf: admin.csrf }, origin: null });
      expect(noOrigin.statusCode, `${url} without Origin or Referer`).toBe(403);
      for (const res of [missing, wrong, foreign, noOrigin]) expect(res.body).not.toContain('name="confirmation"');
    }
    expect(await keysOf(1)).toEqual(keysBefore);
    expect(await auditOf(1)).toEqual(auditBefore);
    expect((await svc.call('GET', '/v1/projects/1/events?status=erased')).json.data).toEqual([]);
  });

  it("answers 404 to a project key reaching another project's settings, keys or erasure, changing nothing", async () => {
    const signed = await signIn(key1);
    const [otherKey] = await keysOf(2);
    const auditBefore = await auditOf(2);
    expect((await request('GET', '/projects/2/settings', { cookie: signed.cookie })).statusCode).toBe(404);
    expect((await request('GET', '/projects/2/settings?cursor=1', { cookie: signed.cookie })).statusCode).toBe(404);
    expect((await request('GET', '/projects/999/settings', { cookie: signed.cookie })).statusCode).toBe(404);
    const body = { _csrf: signed.csrf };
    expect((await request('POST', '/projects/2/settings/api-keys', { cookie: signed.cookie, body })).statusCode).toBe(404);
    expect((await request('POST', `/projects/2/settings/api-keys/${otherKey!.id}/revoke`, { cookie: signed.cookie, body })).statusCode).toBe(404);
    // Its own project's URL with the other project's key id: no such active key here, so nothing is revoked.
    await request('POST', `/projects/1/settings/api-keys/${otherKey!.id}/revoke`, { cookie: signed.cookie, body });
    expect((await request('POST', '/projects/2/settings/erase', { cookie: signed.cookie, body: { ...body, subscriberId: PERSON } })).statusCode).toBe(404);
    expect((await keysOf(2)).find((k) => k.id === otherKey!.id)!.revokedAt).toBeNull();
    expect(await auditOf(2)).toEqual(auditBefore);
    const page = await request('GET', '/projects/1/settings', { cookie: signed.cookie });
    expect(page.body).not.toContain(otherKey!.id);
  });
});

describe('erasure from the dashboard', () => {
  it('erases only after the confirmation step, keeping the subscriberId out of URLs, pages, the audit log and the logs', async () => {
    const reg = await svc.call('POST', '/v1/registrations', registration({ appId: 1, subscriberId: PERSON }));
    const eventId = reg.json.eventId as string;
    const admin = await signIn(ADMIN_TOKEN);
    // Validation: nothing typed, or longer than ingest accepts.
    const empty = await request('POST', '/projects/1/settings/erase', { cookie: admin.cookie, body: { _csrf: admin.csrf, subscriberId: '' } });
    expect(empty.statusCode).toBe(422);
    expect(empty.body).toContain('Enter the subscriber id');
    const long = await request('POST', '/projects/1/settings/erase', { cookie: admin.cookie, body: { _csrf: admin.csrf, subscriberId: 'x'.repeat(129) } });
    expect(long.statusCode).toBe(422);

    // Step 1 erases nothing and shows the id masked only.
    const step1 = await request('POST', '/projects/1/settings/erase', { cookie: admin.cookie, body: { _csrf: admin.csrf, subscriberId: PERSON } });
    expect(step1.statusCode).toBe(200);
    expect(step1.body).toContain('This cannot be undone');
    expect(step1.body).toContain('eras****0199');
    expect(step1.body).not.toContain(PERSON);
    expect((await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json.status).not.toBe('erased');
    const confirmation = /name="confirmation" value="([^"]+)"/.exec(step1.body)![1]!;

    // The confirmation is this session's: another session cannot use it.
    const other = await signIn(ADMIN_TOKEN);
    const stolen = await request('POST', '/projects/1/settings/erase/confirm', { cookie: other.cookie, body: { _csrf: other.csrf, confirmation } });
    expect(stolen.statusCode).toBe(303);
    expect((await request('GET', '/projects/1/settings', { cookie: other.cookie + flashOf(stolen) })).body).toContain('nothing was erased');
    expect((await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json.status).not.toBe('erased');

    // Step 2 erases: the event is erased, its payload gone.
    const step2 = await request('POST', '/projects/1/settings/erase/confirm', { cookie: admin.cookie, body: { _csrf: admin.csrf, confirmation } });
    expect(step2.statusCode).toBe(303);
    expect(step2.headers.location).toBe('/projects/1/settings#erase');
    const event = (await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json;
    expect(event).toMatchObject({ status: 'erased', payload: null });
    const done = await request('GET', '/projects/1/settings', { cookie: admin.cookie + flashOf(step2) });
    expect(done.body).toMatch(/Subscriber eras\*\*\*\*0199 erased: 2 registrations and 2 events/);
    expect(done.body).not.toContain(PERSON);

    const erasures = (await svc.call('GET', '/v1/projects/1/audit-log')).json.data.filter((e: { action: string }) => e.action === 'subscriber.erased');
    expect(erasures).toHaveLength(1);
    expect(erasures[0].details).toEqual({ registrations: 2, via: 'dashboard' });
    expect(JSON.stringify(await auditOf(1))).not.toContain(PERSON);
    for (const res of [step1, step2, stolen]) expect(String(res.headers.location ?? '')).not.toContain(PERSON);
    expect(capturedLogs.join('')).not.toContain(PERSON);
    expect(capturedLogs.join('')).not.toContain(confirmation.slice(0, 40));
  });
});

describe('the audit log on the Settings page', () => {
  it('pages newest first with an Older link, as the API does', async () => {
    for (let i = 0; i < 30; i++) await svc.call('POST', '/v1/projects/2/api-keys');
    const admin = await signIn(ADMIN_TOKEN);
    const first = await request('GET', '/projects/2/settings', { cookie: admin.cookie });
    const rows = (body: string) => body.split('<tbody>').at(-1)!.split('</tbody>')[0]!.match(/<tr>/g)?.length ?? 0;
    expect(rows(first.body)).toBe(25);
    const older = /href="(\/projects\/2\/settings\?cursor=\d+)#audit">Older/.exec(first.body)?.[1];
    expect(older).toBeTruthy();
    const second = await request('GET', older!, { cookie: admin.cookie });
    expect(rows(second.body)).toBe(31 - 25); // 30 keys created, and the project itself
    expect(second.body).toContain('project.created');
    expect(second.body).not.toContain('>Older');
    expect(second.body).toContain('← Newest');
  });
});

describe('erasure confirmations', () => {
  const box = createSecretBox(Buffer.alloc(32, 7));
  const codec = new ConfirmationCodec(box);
  const session: Session = { kind: 'admin', keyHash: 'h', csrf: 'csrf-a', exp: Number.MAX_SAFE_INTEGER };
  const now = Date.UTC(2024, 4, 1);

  it('open only for the session that sealed them, for their purpose, within their lifetime, unaltered', () => {
    const sealed = codec.seal(session, 'erase-subscriber', PERSON, now);
    expect(sealed).not.toContain(PERSON);
    expect(codec.open(session, 'erase-subscriber', sealed, now + CONFIRMATION_LIFETIME_MS - 1)).toBe(PERSON);
    expect(codec.open(session, 'erase-subscriber', sealed, now + CONFIRMATION_LIFETIME_MS)).toBeNull();
    expect(codec.open({ ...session, csrf: 'csrf-b' }, 'erase-subscriber', sealed, now)).toBeNull();
    expect(codec.open(session, 'erase-subscriber', sealed.slice(0, -4) + 'AAAA', now)).toBeNull();
    expect(codec.open(session, 'erase-subscriber', undefined, now)).toBeNull();
    // A flash (sealed by the same box) is not a confirmation.
    expect(codec.open(session, 'erase-subscriber', box.seal(JSON.stringify({ csrf: 'csrf-a', exp: now + 1000, flash: {} })), now)).toBeNull();
  });
});

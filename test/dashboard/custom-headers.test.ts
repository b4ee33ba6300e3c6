/**
 * SPEC §4/§6: custom headers from the dashboard's endpoint form — set, kept, replaced, cleared,
 * refused with the reason next to the field; values never shown again and sent on deliveries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseHeaderLines } from '../../src/dashboard/routes/webhooks.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';

const HOST = 'dash.test';
const VALUE = 'dashboard-header-value-91c2';
let svc: TestService;
let receiver: Receiver;
let key: string;
let cookie: string;
let csrf: string;

async function request(method: 'GET' | 'POST', url: string, body?: Record<string, string>) {
  const headers: Record<string, string> = { host: HOST, cookie };
  if (method === 'POST') Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${HOST}` });
  return svc.app!.inject({ method, url, headers, ...(body ? { payload: new URLSearchParams({ _csrf: csrf, ...body }).toString() } : {}) });
}

const save = (fields: Record<string, string>) => request('POST', '/projects/1/webhooks/endpoint', { url: receiver.url, enabled: 'on', ...fields });
const namesNow = async () => Object.keys((await svc.call('GET', '/v1/projects/1/webhook')).json.headers as Record<string, string>);

beforeAll(async () => {
  svc = await startTestService();
  receiver = await startReceiver(answer(200));
  key = await svc.createProject(1, 'Header Shop');
  const signIn = await svc.app!.inject({
    method: 'POST',
    url: '/sign-in',
    headers: { host: HOST, origin: `http://${HOST}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: key }).toString(),
  });
  cookie = `reghook_session=${signIn.cookies.find((c) => c.name === 'reghook_session')!.value}`;
  csrf = /name="_csrf" value="([^"]+)"/.exec((await request('GET', '/projects/1/webhooks')).body)![1]!;
});
afterAll(async () => {
  await receiver?.close();
  await svc?.stop();
});

describe('custom headers in the dashboard', () => {
  it('sets them from "Name: value" lines, lists only the names, and sends them', async () => {
    expect((await save({ headers: `X-Api-Key: ${VALUE}\r\n\r\nX-Tenant:  one ` })).statusCode).toBe(303);
    expect(await namesNow()).toEqual(['X-Api-Key', 'X-Tenant']);
    const page = (await request('GET', '/projects/1/webhooks')).body;
    expect(page).toContain('<code>X-Api-Key</code>, <code>X-Tenant</code>');
    expect(page).not.toContain(VALUE);
    await svc.call('POST', '/v1/projects/1/webhook/test');
    const [sent] = await receiver.waitFor(1);
    expect([sent!.headers['x-api-key'], sent!.headers['x-tenant']]).toEqual([VALUE, 'one']);
  });

  it('keeps them when the field is left empty, replaces them all when it is not, and clears them on request', async () => {
    await save({ headers: '' });
    expect(await namesNow()).toEqual(['X-Api-Key', 'X-Tenant']);
    await save({ headers: 'X-Only: this' });
    expect(await namesNow()).toEqual(['X-Only']);
    await save({ headers: '', clear_headers: 'on' });
    expect(await namesNow()).toEqual([]);
  });

  it.each([
    ['Host: example.com', 'Host is set by reghook'],
    ['webhook-id: forged', 'reserved'],
    ['no colon here', 'Line 1 is not'],
    ['X-A: 1\nX-A: 2', 'X-A is named twice'],
  ])('refuses %j with 422, the reason by the field, the text kept, nothing changed', async (text, reason) => {
    await save({ headers: 'X-Keep: kept' });
    const res = await save({ headers: text });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('id="headers-error"');
    expect(res.body).toContain(reason);
    expect(await namesNow()).toEqual(['X-Keep']);
  });
});

describe('the rate limit in the dashboard', () => {
  const rate = async () => (await svc.call('GET', '/v1/projects/1/webhook')).json.rateLimitPerSecond as number | null;

  it('sets a cap, shows it in the field, keeps it when the form is saved as shown, and clears it when emptied', async () => {
    expect((await save({ rate_limit: '5' })).statusCode).toBe(303);
    expect(await rate()).toBe(5);
    expect((await request('GET', '/projects/1/webhooks')).body).toMatch(/id="rate_limit" name="rate_limit"[^>]*value="5"/);
    await save({ rate_limit: '5', headers: 'X-Other: one' });
    expect(await rate()).toBe(5);
    await save({ rate_limit: '' });
    expect(await rate()).toBeNull();
  });

  it.each(['0', 'abc', '10001', '2.5'])('refuses %j with 422 and the reason by the field, changing nothing', async (value) => {
    await save({ rate_limit: '7' });
    const res = await save({ rate_limit: value });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('id="rate-error"');
    expect(await rate()).toBe(7);
  });
});

describe('parseHeaderLines', () => {
  it('reads back any set of distinct names with printable values, whatever the spacing', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);
    const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, minLength: 1, maxLength: 5 }), fc.constantFrom('\n', '\r\n'), (pairs, eol) => {
        const text = pairs.map(([n, v]) => `${n}:  ${v} `).join(eol);
        expect(parseHeaderLines(text)).toEqual({ headers: Object.fromEntries(pairs) });
      }),
    );
    expect(parseHeaderLines(' \n\n')).toEqual({ headers: undefined });
  });
});

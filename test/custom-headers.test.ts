/**
 * SPEC section 4: custom request headers per endpoint — sent on every attempt (scheduled, manual,
 * test), sealed at rest, shown masked, never logged, audited by name, reserved names refused.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCustomHeaders, MAX_CUSTOM_HEADERS, refusedHeaderName } from '../src/domain/custom-headers.js';
import { answer, startReceiver, type Receiver } from './helpers/receiver.js';
import { capturedLogs, eventually, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('custom headers');
const VALUE = 'hdr-value-only-the-firewall-knows-7f3a';

describe('the header rules (domain)', () => {
  const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/);
  const reserved = fc.constantFrom('content-type', 'content-length', 'host', 'user-agent', 'connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'keep-alive');
  const anyCase = (name: string, flips: boolean[]) => [...name].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');

  it('refuses every reserved name and prefix, in any letter case', () => {
    fc.assert(
      fc.property(reserved, fc.array(fc.boolean(), { minLength: 1 }), (name, flips) => {
        expect(refusedHeaderName(anyCase(name, flips))).not.toBeNull();
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom('proxy-', 'webhook-'), token, fc.array(fc.boolean(), { minLength: 1 }), (prefix, rest, flips) => {
        expect(refusedHeaderName(anyCase(prefix + rest, flips))).toMatch(/reserved/);
      }),
    );
  });

  it('accepts any other HTTP token with a printable value, and refuses a name given twice in another case', () => {
    const allowed = token.filter((name) => refusedHeaderName(name) === null);
    fc.assert(
      fc.property(allowed, fc.stringMatching(/^[\x20-\x7e]{0,1024}$/), (name, value) => {
        expect(checkCustomHeaders({ [name]: value })).toEqual([]);
        if (name.toLowerCase() !== name.toUpperCase()) {
          expect(checkCustomHeaders({ [name.toLowerCase()]: value, [name.toUpperCase()]: value }).map((r) => r.reason)).toEqual([
            expect.stringContaining('named twice'),
          ]);
        }
      }),
    );
  });

  it('refuses more than 20 headers and values that are not printable ASCII', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_CUSTOM_HEADERS + 1 }, (_, i) => [`x-h${i}`, 'v']));
    expect(checkCustomHeaders(many).map((r) => r.reason)).toEqual(['at most 20 custom headers']);
    expect(checkCustomHeaders({ 'x-a': 'line\nbreak' })).toHaveLength(1);
    expect(checkCustomHeaders({ 'x-a': 'é' })).toHaveLength(1);
  });
});

describe.each(backends)('custom headers on the endpoint (%s)', (backend) => {
  let svc: TestService;
  let receiver: Receiver;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '2', REGHOOK_RETRY_INTERVAL: '100ms' }, undefined, backend);
    receiver = await startReceiver(answer(200));
    await svc.createProject(1);
    await svc.createProject(2);
  });
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  const put = (appId: number, body: Record<string, unknown>) => svc.call('PUT', `/v1/projects/${appId}/webhook`, body);

  it('are sent on scheduled, manual and test attempts, and shown masked', async () => {
    const saved = await put(1, { url: receiver.url, headers: { 'X-Api-Key': VALUE, 'X-Tenant': 'one' } });
    expect(saved.status).toBe(200);
    expect(saved.json.headers).toEqual({ 'X-Api-Key': '********', 'X-Tenant': '********' });
    expect((await svc.call('GET', '/v1/projects/1/webhook')).json.headers).toEqual({ 'X-Api-Key': '********', 'X-Tenant': '********' });

    const before = receiver.requests.length;
    const eventId = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
    await receiver.waitFor(before + 1);
    await eventually(async () => ((await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json.status === 'delivered' ? true : undefined));
    expect((await svc.call('POST', `/v1/projects/1/events/${eventId}/redeliver`)).status).toBe(202);
    await receiver.waitFor(before + 2);
    expect((await svc.call('POST', '/v1/projects/1/webhook/test')).json.success).toBe(true);
    const got = receiver.requests.slice(before);
    expect(got).toHaveLength(3);
    for (const request of got) {
      expect(request.headers['x-api-key']).toBe(VALUE);
      expect(request.headers['x-tenant']).toBe('one');
      expect(request.headers['content-type']).toBe('application/json');
    }
  });

  it('are kept when a change names none, and cleared by {}', async () => {
    await put(1, { url: receiver.url, enabled: true });
    expect((await svc.call('GET', '/v1/projects/1/webhook')).json.headers).toEqual({ 'X-Api-Key': '********', 'X-Tenant': '********' });
    await put(1, { url: receiver.url, headers: {} });
    expect((await svc.call('GET', '/v1/projects/1/webhook')).json.headers).toEqual({});
    const before = receiver.requests.length;
    await svc.call('POST', '/v1/projects/1/webhook/test');
    const [request] = (await receiver.waitFor(before + 1)).slice(before);
    expect(request!.headers['x-api-key']).toBeUndefined();
  });

  it.each([
    ['Host', 'example.com'],
    ['Content-Type', 'text/plain'],
    ['webhook-signature', 'v1,forged'],
    ['Proxy-Authorization', 'Basic x'],
    ['X Api', 'not a token'],
  ])('refuses %s with 422 naming it, and changes nothing', async (name, value) => {
    await put(2, { url: receiver.url, headers: { 'X-Keep': 'kept' } });
    const res = await put(2, { url: receiver.url, headers: { 'X-Other': 'fine', [name]: value } });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe('REGHOOK_HEADER_REFUSED');
    expect(res.json.errors).toEqual([{ path: `/headers/${name}`, message: expect.any(String) }]);
    expect((await svc.call('GET', '/v1/projects/2/webhook')).json.headers).toEqual({ 'X-Keep': '********' });
  });

  it.each([
    ['a value with a line break', { 'X-Api': 'a\r\nInjected: yes' }],
    ['a value over 1,024 characters', { 'X-Api': 'v'.repeat(1025) }],
    ['more than 20 headers', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']))],
  ])('refuses %s with 400 REGHOOK_VALIDATION', async (_label, headers) => {
    const res = await put(2, { url: receiver.url, headers });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('REGHOOK_VALIDATION');
  });

  it('never stores, logs or audits a value in clear (the audit names the headers)', async () => {
    await put(1, { url: receiver.url, headers: { 'X-Api-Key': VALUE } });
    const endpoint = await svc.store.getEndpoint(1);
    expect(endpoint!.headersSealed).not.toBeNull();
    expect(endpoint!.headersSealed).not.toContain(VALUE);
    const audit = (await svc.call('GET', '/v1/projects/1/audit-log?limit=250')).json.data as { action: string; details: Record<string, unknown> }[];
    expect(audit.find((e) => e.action === 'endpoint.updated' && Array.isArray(e.details.headers))?.details.headers).toEqual(['X-Api-Key']);
    expect(JSON.stringify(audit)).not.toContain(VALUE);
    expect(capturedLogs.some((line) => line.includes(VALUE))).toBe(false);
  });
});

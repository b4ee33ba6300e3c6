/**
 * SPEC section 5: every error is problem+json with a stable `code` specific enough to branch on:
 * each situation below has a code of its own, and no code is reused for another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DestinationRefusedError } from '../src/dispatch/network-policy/connector.js';
import { ConfigError, DATABASE_CONNECTION_LOST, ERROR_CATALOGUE, OPERATOR_ERRORS, RETIRED_ERROR_CODES, StartupError } from '../src/errors.js';
import { SecretKeyMismatchError } from '../src/secrets/secret-box.js';
import { InvalidSecretError } from '@reghook/receiver/signing';
import { hang, startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('error codes');

describe('the error catalogue', () => {
  it('gives every code one status and title, and never brings a retired code back', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^REGHOOK_[A-Z_]+$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.title.length).toBeGreaterThan(0);
    }
    for (const retired of RETIRED_ERROR_CODES) expect(Object.keys(ERROR_CATALOGUE)).not.toContain(retired);
  });

  it('gives every error an operator sees a code of the operator catalogue, distinct from the API codes', () => {
    const thrown: { code: string }[] = [
      new ConfigError('x'),
      new StartupError('x'),
      new SecretKeyMismatchError('x'),
      new InvalidSecretError('x'),
      new DestinationRefusedError('example.com', '10.0.0.1', 'private address 10.0.0.1'),
      { code: DATABASE_CONNECTION_LOST },
    ];
    expect(thrown.map((e) => e.code).sort()).toEqual(Object.keys(OPERATOR_ERRORS).sort());
    for (const code of Object.keys(OPERATOR_ERRORS)) expect(Object.keys(ERROR_CATALOGUE)).not.toContain(code);
  });

  it('knows every error class in src/ and the receiver package: each is catalogued, the receiver SDK\'s own, or never leaves its module', () => {
    const classes = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts')) for (const m of readFileSync(file, 'utf8').matchAll(/class (\w+) extends Error\b/g)) classes.add(m[1]!);
      }
    };
    walk(path.resolve(import.meta.dirname, '../src'));
    walk(path.resolve(import.meta.dirname, '../packages/receiver/src'));
    const catalogued = ['ReghookError', 'ConfigError', 'StartupError', 'SecretKeyMismatchError', 'InvalidSecretError', 'DestinationRefusedError'];
    // The receiver SDK is its own package with its own codes; LostInsertRace and BatchMismatch
    // (PostgreSQL ingest) are caught where they are thrown.
    const elsewhere = ['WebhookVerificationError', 'BodyTooLargeError', 'LostInsertRace', 'BatchMismatch'];
    expect([...classes].sort()).toEqual([...catalogued, ...elsewhere].sort());
  });
});

describe.each(backends)('specific error codes (%s)', (backend) => {
  let svc: TestService;
  let receiver: Receiver;
  let otherKey: string;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_DELIVERY_TIMEOUT: '5s' }, undefined, backend);
    receiver = await startReceiver(hang);
    await svc.createProject(1);
    otherKey = await svc.createProject(2);
  });
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  const expectProblem = (res: { status: number; json: any; headers: Record<string, unknown> }, status: number, code: string) => {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect({ status: res.status, code: res.json.code, type: res.json.type }).toEqual({
      status,
      code,
      type: `urn:reghook:problem:${code.slice('REGHOOK_'.length).toLowerCase().replace(/_/g, '-')}`,
    });
  };

  it('projects: one that exists, one that does not (or is another project), an unknown key', async () => {
    expectProblem(await svc.call('POST', '/v1/projects', { appId: 1, name: 'again' }), 409, 'REGHOOK_PROJECT_EXISTS');
    expectProblem(await svc.call('GET', '/v1/projects/99'), 404, 'REGHOOK_PROJECT_NOT_FOUND');
    expectProblem(await svc.call('GET', '/v1/projects/1', undefined, otherKey), 404, 'REGHOOK_PROJECT_NOT_FOUND');
    expectProblem(await svc.call('DELETE', '/v1/projects/1/api-keys/key_0123456789abcdef'), 404, 'REGHOOK_API_KEY_NOT_FOUND');
    expectProblem(await svc.call('POST', '/v1/projects/2/api-keys', undefined, otherKey), 403, 'REGHOOK_ADMIN_ONLY');
    expectProblem(await svc.call('POST', '/v1/registrations', registration({ appId: 1 }), otherKey), 403, 'REGHOOK_ADMIN_ONLY');
    expectProblem(await svc.call('GET', '/v1/nothing-here'), 404, 'REGHOOK_NOT_FOUND');
  });

  it('ingest: a conflicting registration, a reused transactionId, an unknown appId', async () => {
    const first = registration({ appId: 1 });
    await svc.call('POST', '/v1/registrations', first);
    expectProblem(await svc.call('POST', '/v1/registrations', { ...first, language: 'tr' }), 409, 'REGHOOK_REGISTRATION_CONFLICT');
    const store = registration({ appId: 1, storeRegister: true });
    const other = registration({ appId: 1, storeRegister: true });
    await svc.call('POST', '/v1/registrations', store);
    await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid: store.clientUuid, transactionId: 'tx-1' });
    expectProblem(await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid: other.clientUuid, transactionId: 'tx-1' }), 409, 'REGHOOK_TRANSACTION_REUSED');
    expectProblem(await svc.call('POST', '/v1/registrations', registration({ appId: 77 })), 404, 'REGHOOK_PROJECT_NOT_FOUND');
  });

  it('the endpoint: none yet, a refused URL', async () => {
    expectProblem(await svc.call('GET', '/v1/projects/2/webhook'), 404, 'REGHOOK_ENDPOINT_NOT_FOUND');
    expectProblem(await svc.call('POST', '/v1/projects/2/webhook/secret'), 404, 'REGHOOK_ENDPOINT_NOT_FOUND');
    expectProblem(await svc.call('POST', '/v1/projects/2/webhook/test'), 404, 'REGHOOK_ENDPOINT_NOT_FOUND');
    const refused = await svc.call('PUT', '/v1/projects/2/webhook', { url: 'ftp://example.com/hooks' });
    expectProblem(refused, 422, 'REGHOOK_ENDPOINT_URL_REFUSED');
    expect(refused.json.errors[0].path).toBe('/url');
    // SPEC section 5: a URL over 2048 characters is refused with 422 and the reason, like any other refused URL.
    const long = await svc.call('PUT', '/v1/projects/2/webhook', { url: `https://example.com/${'a'.repeat(2049 - 'https://example.com/'.length)}` });
    expectProblem(long, 422, 'REGHOOK_ENDPOINT_URL_REFUSED');
    expect(long.json.errors[0]).toMatchObject({ path: '/url', message: expect.stringContaining('2048') });
    expect((await svc.call('GET', '/v1/projects/2/webhook')).status).toBe(404);
  });

  it('redelivery: no such event, no endpoint, a disabled endpoint, an attempt in flight: four codes', async () => {
    expectProblem(await svc.call('POST', '/v1/projects/2/events/evt_00000000000000000000000000/redeliver'), 404, 'REGHOOK_EVENT_NOT_FOUND');
    // Project 2 has no endpoint: its events are skipped, and redelivering one needs an endpoint.
    const skipped = (await svc.call('POST', '/v1/registrations', registration({ appId: 2 }))).json.eventId as string;
    expectProblem(await svc.call('POST', `/v1/projects/2/events/${skipped}/redeliver`), 409, 'REGHOOK_ENDPOINT_MISSING');
    await svc.call('PUT', '/v1/projects/2/webhook', { url: receiver.url, enabled: false });
    expectProblem(await svc.call('POST', `/v1/projects/2/events/${skipped}/redeliver`), 409, 'REGHOOK_ENDPOINT_DISABLED');
    // A scheduled attempt to a hanging endpoint holds the lease.
    await svc.call('PUT', '/v1/projects/2/webhook', { url: receiver.url, enabled: true });
    const pending = (await svc.call('POST', '/v1/registrations', registration({ appId: 2 }))).json.eventId as string;
    await eventually(() => (receiver.requests.some((r) => r.headers['webhook-id'] === pending) ? true : undefined));
    expectProblem(await svc.call('POST', `/v1/projects/2/events/${pending}/redeliver`), 409, 'REGHOOK_ATTEMPT_IN_FLIGHT');
  });
});

import Database from 'better-sqlite3';
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeRegistration } from '../src/domain/registration.js';
import { validateRegisteredUserEvent } from '@reghook/receiver';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { ADMIN_TOKEN, registration, startTestService, type TestService } from './helpers/service.js';

// Bad input of each kind gets a 4xx problem naming the field, and nothing is stored.
let svc: TestService;
let db: Database.Database;

beforeAll(async () => {
  svc = await startTestService();
  await svc.createProject(1);
  db = new Database(path.join(svc.dir, 'reghook.db'), { readonly: true });
});
afterAll(async () => {
  db.close();
  await svc.stop();
});

const stored = () =>
  db.prepare('SELECT (SELECT COUNT(*) FROM registrations) + (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM purchases) AS n').get() as { n: number };

async function post(url: string, payload: string, contentType = 'application/json') {
  const res = await svc.app!.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType },
    payload,
  });
  return { status: res.statusCode, json: JSON.parse(res.body), type: res.headers['content-type'] };
}

const badFields: [string, unknown][] = [
  ['clientUuid', 'not-a-uuid'],
  ['clientUuid', 42],
  ['clientIp', '999.1.1.1'],
  ['clientIp', 'fe80::1%eth0'],
  ['clientIp', ''],
  ['country', 'tr'],
  ['country', 'TUR'],
  ['language', ''],
  ['language', 'x'.repeat(40)],
  ['storeRegister', 'true'],
  ['subscriberId', ''],
  ['subscriberId', 905555555555],
  ['subscriberId', '9'.repeat(129)],
  ['subscriberId', '905555555555\u0000'],
  ['subscriberName', 'n'.repeat(257)],
  ['appId', 0],
  ['appId', -1],
  ['appId', 1.5],
  ['appId', '1'],
  ['appId', 2_147_483_648],
  ['flowId', 0],
  ['siteId', null],
  ['registerDate', '2020-02-30 12:00:00'],
  ['registerDate', '2020-03-20T12:35:41'],
  ['registerDate', '2020-03-20 25:00:00'],
  ['registerDate', 'yesterday'],
  // Date.UTC would read year 70 as 1970, and -14:00 pushes 9999-12-31 into year 10000.
  ['registerDate', '0070-01-01 00:00:00'],
  ['registerDate', '9999-12-31T23:59:59-14:00'],
  ['registerDate', '2016-12-31T23:59:60Z'],
  ['registerOtpStatus', 0],
];

describe('registration validation', () => {
  it.each(badFields)('a bad %s (%j) answers 400 naming the field and stores nothing', async (field, value) => {
    const before = stored().n;
    const res = await post('/v1/registrations', JSON.stringify(registration({ [field]: value })));
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ type: expect.any(String), title: expect.any(String), status: 400, detail: expect.any(String) });
    expect(res.json.errors.map((e: any) => e.path)).toContain(`/${field}`);
    expect(stored().n).toBe(before);
  });

  it('a missing field is named', async () => {
    const body = registration();
    delete body.subscriberId;
    const res = await post('/v1/registrations', JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual({ path: '/subscriberId', message: 'is required' });
  });

  it('an unknown field is refused and named', async () => {
    const res = await post('/v1/registrations', JSON.stringify(registration({ isAdmin: true })));
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual({ path: '/isAdmin', message: 'is not a known field' });
  });

  it('a body over 16 KiB answers 413', async () => {
    const before = stored().n;
    const res = await post('/v1/registrations', JSON.stringify(registration({ subscriberName: 'x'.repeat(17 * 1024) })));
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('REGHOOK_BODY_TOO_LARGE');
    expect(stored().n).toBe(before);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('a %s body answers 415', async (type) => {
    const res = await post('/v1/registrations', JSON.stringify(registration()), type);
    expect(res.status).toBe(415);
  });

  it('malformed JSON answers 400', async () => {
    const res = await post('/v1/registrations', '{"clientUuid":');
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('REGHOOK_VALIDATION');
  });

  it('no generated input yields a 5xx or stores anything it should not (property)', async () => {
    const field = fc.constantFrom(...Object.keys(registration()));
    const junk = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(field, junk), { minLength: 1, maxLength: 4 }), async (changes) => {
        const body = registration({ appId: 1 });
        for (const [k, v] of changes) body[k] = v;
        const before = stored().n;
        const res = await post('/v1/registrations', JSON.stringify(body));
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(stored().n).toBe(before);
      }),
      { numRuns: 150 },
    );
  });

  it('every accepted registration yields a body the receiver SDK accepts (property)', () => {
    const report = fc.record({
      clientUuid: fc.uuid(),
      clientIp: fc.oneof(fc.ipV4(), fc.ipV6()),
      country: fc.option(fc.stringMatching(/^[A-Z]{2}$/), { nil: null }),
      language: fc.stringMatching(/^[a-z]{2}(-[A-Z]{2})?$/),
      storeRegister: fc.boolean(),
      subscriberId: fc.string({ minLength: 1, maxLength: 128 }),
      subscriberName: fc.option(fc.string({ minLength: 1, maxLength: 256 }), { nil: null }),
      appId: fc.integer({ min: 1, max: 2_147_483_647 }),
      flowId: fc.integer({ min: 1, max: 2_147_483_647 }),
      siteId: fc.integer({ min: 1, max: 2_147_483_647 }),
      registerDate: fc
        .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 19).replace('T', ' ')),
      registerOtpStatus: fc.boolean(),
    });
    fc.assert(
      fc.property(report, (r) => {
        const body = JSON.parse(normalizeRegistration(r).body);
        expect(validateRegisteredUserEvent(body).ok).toBe(true);
      }),
    );
  });
});

describe('purchase validation', () => {
  it.each([
    ['appId', 0],
    ['clientUuid', 'nope'],
    ['transactionId', ''],
    ['purchaseDate', 'tomorrow'],
    ['purchaseDate', '2016-12-31T23:59:60Z'],
    ['transactionId', 't\u0000'],
  ])('a bad %s answers 400 naming it', async (field, value) => {
    const body = { appId: 1, clientUuid: '8a6e0804-2bd0-4672-b79d-d97027f9071a', transactionId: 't1', [field]: value };
    const before = stored().n;
    const res = await post('/v1/purchases', JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: any) => e.path)).toContain(`/${field}`);
    expect(stored().n).toBe(before);
  });
});

describe('a bodiless POST sent with content-type: application/json', () => {
  // The README's curl examples send `-H 'content-type: application/json'` on routes without a body.
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    await svc.createProject(7);
    await svc.setEndpoint(7, receiver.url);
  });
  afterAll(async () => {
    await receiver.close();
  });

  const bodiless = async (url: string, type = 'application/json') => {
    const res = await svc.app!.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type } });
    return { status: res.statusCode, json: JSON.parse(res.body) };
  };

  it.each([
    ['reveals the secret', '/v1/projects/7/webhook/secret', 200],
    ['rotates the secret', '/v1/projects/7/webhook/secret/rotate', 200],
    ['sends the test webhook', '/v1/projects/7/webhook/test', 200],
    ['creates an API key', '/v1/projects/7/api-keys', 201],
  ])('%s', async (_what, url, status) => {
    const res = await bodiless(url);
    expect(res).toMatchObject({ status });
    expect(res.json.code).toBeUndefined();
    expect((await bodiless(url, 'application/json; charset=utf-8')).status).toBe(status);
  });

  it('a route that needs a body answers 400 naming the missing body', async () => {
    const res = await bodiless('/v1/registrations');
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('REGHOOK_VALIDATION');
    expect(res.json.errors).toEqual([{ path: '/', message: 'is required' }]);
  });

  it('a non-empty body is still parsed strictly: prototype poisoning is refused', async () => {
    const res = await post('/v1/projects', '{"appId":8,"name":"p","__proto__":{"admin":true}}');
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('REGHOOK_VALIDATION');
    const constructor = await post('/v1/projects', '{"appId":8,"name":"p","constructor":{"prototype":{"admin":true}}}');
    expect(constructor.status).toBe(400);
  });
});

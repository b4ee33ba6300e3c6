import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, registration, startTestService, testBackends, uuid, type TestService } from './helpers/service.js';

// SPEC section 5: a U+0000 in any string, a leap second, a date-time that names no instant and a
// registerDate outside 1970…9999 are refused with 400 naming the field, and nothing is stored,
// on both stores alike. Section 7: any valid subscriberId, up to its full length, can be erased.
const backends = await testBackends('input refusals');

const NUL = '\u0000';

describe.each(backends)('on %s', (backend) => {
  let svc: TestService;
  let nextAppId = 100;

  beforeAll(async () => {
    svc = await startTestService({}, undefined, backend);
    await svc.createProject(1);
  });
  afterAll(async () => {
    await svc.stop();
  });

  /** Expects a 400 validation problem whose errors name `path`. */
  const expectRefusal = (res: { status: number; json: any; headers: Record<string, unknown> }, path: string) => {
    expect({ status: res.status, code: res.json?.code }).toEqual({ status: 400, code: 'REGHOOK_VALIDATION' });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json.errors).toContainEqual({ path, message: expect.any(String) });
  };
  const auditActions = async (appId: number) =>
    ((await svc.call('GET', `/v1/projects/${appId}/audit-log?limit=250`)).json.data as { action: string }[]).map((e) => e.action);

  describe('U+0000', () => {
    it.each(['subscriberId', 'subscriberName', 'clientIp', 'language'])(
      'a NUL in a registration\'s %s answers 400 naming it, and nothing is stored',
      async (field) => {
        const report = registration({ appId: 1 });
        const res = await svc.call('POST', '/v1/registrations', { ...report, [field]: `${String(report[field])}${NUL}x` });
        expectRefusal(res, `/${field}`);
        // Had the NUL report been stored, this one would be a 409 (different data) or a 200 (repeat).
        const clean = await svc.call('POST', '/v1/registrations', report);
        expect(clean.status).toBe(202);
      },
    );

    it('a NUL in a transactionId answers 400 naming it, and nothing is stored', async () => {
      const clientUuid = uuid();
      expect((await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid, storeRegister: true }))).status).toBe(202);
      const res = await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid, transactionId: `tx${NUL}1` });
      expectRefusal(res, '/transactionId');
      const clean = await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid, transactionId: 'tx1' });
      expect(clean.status).toBe(202);
      expect(clean.json).toMatchObject({ triggered: true });
    });

    it('a NUL in a project name answers 400 naming it, and nothing is stored', async () => {
      const appId = nextAppId++;
      const res = await svc.call('POST', '/v1/projects', { appId, name: `shop${NUL}` });
      expectRefusal(res, '/name');
      expect((await svc.call('GET', `/v1/projects/${appId}`)).status).toBe(404);
      expect((await svc.call('POST', '/v1/projects', { appId, name: 'shop' })).status).toBe(201);
    });

    it('a NUL in an endpoint URL answers 400 naming it, and nothing is stored', async () => {
      const appId = nextAppId++;
      await svc.createProject(appId);
      const res = await svc.call('PUT', `/v1/projects/${appId}/webhook`, { url: `https://example.com/hooks${NUL}` });
      expectRefusal(res, '/url');
      expect((await svc.call('GET', `/v1/projects/${appId}/webhook`)).status).toBe(404);
    });

    it('a NUL in a path parameter answers 400 naming it, and nothing is erased or audited', async () => {
      const appId = nextAppId++;
      await svc.createProject(appId);
      const res = await svc.call('DELETE', `/v1/projects/${appId}/subscribers/905555555555%00`);
      expectRefusal(res, '/params/subscriberId');
      expect(await auditActions(appId)).not.toContain('subscriber.erased');
    });

    it.each([
      ['/v1/projects/1/events?status=pending%00', '/query/status'],
      ['/v1/projects/1/audit-log?cursor=1%00', '/query/cursor'],
      ['/v1/projects?cursor=%00', '/query/cursor'],
    ])('a NUL in a query string (%s) answers 400 naming it', async (url, path) => {
      expectRefusal(await svc.call('GET', url), path);
    });

    it('a NUL in a dashboard form answers 400 naming the field', async () => {
      const res = await svc.app!.inject({
        method: 'POST',
        url: '/sign-in',
        headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'localhost', origin: 'http://localhost' },
        payload: `token=${encodeURIComponent(ADMIN_TOKEN)}%00`,
      });
      expectRefusal({ status: res.statusCode, json: JSON.parse(res.body), headers: res.headers }, '/token');
      // Nothing happened: no session was started.
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('any JSON body with a NUL somewhere in a string, on any write route, answers 400, never 5xx (property)', async () => {
      const appId = nextAppId++;
      await svc.createProject(appId);
      const bodies: [string, string, () => Record<string, unknown>][] = [
        ['POST', '/v1/registrations', () => registration({ appId })],
        ['POST', '/v1/purchases', () => ({ appId, clientUuid: uuid(), transactionId: 't', purchaseDate: '2020-01-01T00:00:00Z' })],
        ['POST', '/v1/projects', () => ({ appId: nextAppId++, name: 'p' })],
        ['PUT', `/v1/projects/${appId}/webhook`, () => ({ url: 'https://example.com/hooks', enabled: true })],
        ['POST', `/v1/projects/${appId}/events/recover`, () => ({ since: '2020-01-01T00:00:00Z' })],
      ];
      const withNul = fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}${NUL}${b}`);
      // Where the NUL goes: replacing a known field, in a new field, or nested in an object or array.
      const placement = fc.oneof(
        fc.record({ kind: fc.constant('replace' as const), index: fc.nat(), value: withNul }),
        fc.record({ kind: fc.constant('extra' as const), key: fc.oneof(fc.string({ maxLength: 8 }), withNul), value: withNul }),
        fc.record({ kind: fc.constant('nested' as const), index: fc.nat(), value: withNul, inArray: fc.boolean() }),
      );
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: bodies.length - 1 }), placement, async (route, where) => {
          const [method, url, make] = bodies[route]!;
          const body = make();
          const keys = Object.keys(body);
          if (where.kind === 'replace') body[keys[where.index % keys.length]!] = where.value;
          else if (where.kind === 'extra') body[where.key] = where.value;
          else body[keys[where.index % keys.length]!] = where.inArray ? ['a', where.value] : { a: where.value };
          const res = await svc.call(method, url, body);
          expect(res.status).toBe(400);
          expect(res.json.code).toBe('REGHOOK_VALIDATION');
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('date-times', () => {
    it.each(['2016-12-31T23:59:60Z', '2017-01-01T02:59:60+03:00', '2020-01-01T10:00:00+03', '0000-00-00T00:00:00Z'])(
      'a purchaseDate of %j answers 400 naming it, and nothing is stored',
      async (purchaseDate) => {
        const clientUuid = uuid();
        expect((await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid, storeRegister: true }))).status).toBe(202);
        const res = await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid, transactionId: 'tx-date', purchaseDate });
        expectRefusal(res, '/purchaseDate');
        const clean = await svc.call('POST', '/v1/purchases', {
          appId: 1,
          clientUuid,
          transactionId: `tx-${clientUuid}`,
          purchaseDate: '2016-12-31T23:59:59Z',
        });
        expect(clean.status).toBe(202);
        expect(clean.json).toMatchObject({ triggered: true });
      },
    );

    it.each(['2016-12-31T23:59:60Z', '2020-01-01T10:00:00+03', '2020-02-30T00:00:00Z'])(
      "recover's since of %j answers 400 naming it, and nothing is recovered or audited",
      async (since) => {
        const appId = nextAppId++;
        await svc.createProject(appId);
        const res = await svc.call('POST', `/v1/projects/${appId}/events/recover`, { since });
        expectRefusal(res, '/since');
        expect(await auditActions(appId)).not.toContain('events.recovered');
        expect((await svc.call('POST', `/v1/projects/${appId}/events/recover`, { since: '2016-12-31T23:59:59Z' })).json).toEqual({ recovered: 0 });
      },
    );

    it.each([
      '0070-01-01 00:00:00',
      '0099-12-31T23:59:59Z',
      '1969-12-31 23:59:59',
      '9999-12-31T23:59:59-14:00',
      '2016-12-31 23:59:60',
      '2016-12-31T23:59:60Z',
    ])('a registerDate of %j answers 400 naming it, and nothing is stored', async (registerDate) => {
      const report = registration({ appId: 1 });
      expectRefusal(await svc.call('POST', '/v1/registrations', { ...report, registerDate }), '/registerDate');
      expect((await svc.call('POST', '/v1/registrations', report)).status).toBe(202);
    });

    it.each([
      ['1969-12-31T23:30:00-01:00', '1970-01-01 00:30:00'],
      ['1970-01-01 00:00:00', '1970-01-01 00:00:00'],
      ['9999-12-31T23:59:59Z', '9999-12-31 23:59:59'],
      ['9999-12-31T23:59:59+14:00', '9999-12-31 09:59:59'],
    ])('a registerDate of %j is sent as %j (UTC, four-digit year)', async (registerDate, sent) => {
      const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1, registerDate }));
      expect(res.status).toBe(202);
      const event = await svc.call('GET', `/v1/projects/1/events/${res.json.eventId}`);
      expect(event.json.payload.registerDate).toBe(sent);
    });
  });

  describe('erasure of long subscriberIds', () => {
    it.each([
      ['120 digits', '9'.repeat(120)],
      ['128 characters that URL-encode to 768', 'é'.repeat(128)],
      ['128 astral characters (256 UTF-16 units)', '😀'.repeat(128)],
    ])('a person whose subscriberId is %s can be erased', async (_what, subscriberId) => {
      const reg = await svc.call('POST', '/v1/registrations', registration({ appId: 1, subscriberId }));
      expect(reg.status).toBe(202);
      const erased = await svc.call('DELETE', `/v1/projects/1/subscribers/${encodeURIComponent(subscriberId)}`);
      expect(erased.status).toBe(200);
      expect(erased.json).toEqual({ erasedRegistrations: 1, erasedPayloads: 1 });
      const event = await svc.call('GET', `/v1/projects/1/events/${reg.json.eventId}`);
      expect(event.json.payload).toBeNull();
      expect(JSON.stringify(event.json)).not.toContain(subscriberId);
    });

    it('a subscriberId longer than ingest accepts answers 400 naming it', async () => {
      expectRefusal(await svc.call('DELETE', `/v1/projects/1/subscribers/${'9'.repeat(129)}`), '/params/subscriberId');
    });

    it.each([
      ['a subscriberId', `/v1/projects/1/subscribers/${'9'.repeat(5000)}`],
      ['an appId', `/v1/projects/${'1'.repeat(300)}`],
    ])('an over-long path segment (%s) answers a problem, never a bare 414', async (_what, url) => {
      const res = await svc.call(url.includes('subscribers') ? 'DELETE' : 'GET', url);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect({ status: res.status, code: res.json.code }).toEqual({ status: 400, code: 'REGHOOK_VALIDATION' });
    });
  });
});

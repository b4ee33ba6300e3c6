import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registration, startTestService, testBackends, uuid, type TestService } from './helpers/service.js';

// SPEC section 5: a leap second, a date-time that names no instant and a registerDate outside
// 1970…9999 are refused with 400 naming the field, and nothing is stored, on both stores alike.
const backends = await testBackends('input refusals');

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
});

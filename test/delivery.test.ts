import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, hang, startReceiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, type TestService } from './helpers/service.js';

// SPEC sections 3 and 4: the webhook as received, and the retry schedule with a short interval.
const INTERVAL_MS = 150;
const MAX_ATTEMPTS = 4;
let svc: TestService;
let nextAppId = 10;

beforeAll(async () => {
  svc = await startTestService({
    REGHOOK_RETRY_INTERVAL: `${INTERVAL_MS}ms`,
    REGHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    REGHOOK_DELIVERY_TIMEOUT: '400ms',
    REGHOOK_ENDPOINT_CONCURRENCY: '2',
  });
});
afterAll(async () => {
  await svc.stop();
});

/** A new project whose endpoint is a fresh receiver. */
async function projectWithReceiver(responder = answer(200)) {
  const appId = nextAppId++;
  const receiver = await startReceiver(responder);
  await svc.createProject(appId);
  const secret = await svc.setEndpoint(appId, receiver.url);
  return { appId, receiver, secret };
}

async function register(appId: number, overrides: Record<string, unknown> = {}) {
  const res = await svc.call('POST', '/v1/registrations', registration({ appId, ...overrides }));
  expect(res.status).toBe(202);
  return res.json.eventId as string;
}

const eventDetail = async (appId: number, eventId: string) => (await svc.call('GET', `/v1/projects/${appId}/events/${eventId}`)).json;

async function settled(appId: number, eventId: string, status: string) {
  return eventually(async () => {
    const e = await eventDetail(appId, eventId);
    return e.status === status ? e : undefined;
  });
}

describe('the webhook as received', () => {
  it('is a POST with the exact body shape, key order and Standard Webhooks headers', async () => {
    const { appId, receiver, secret } = await projectWithReceiver();
    const eventId = await register(appId, {
      clientUuid: '8A6E0804-2BD0-4672-B79D-D97027F9071A',
      registerDate: '2020-03-20T15:35:41+03:00',
      country: undefined,
    });
    const [req] = await receiver.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.body).toBe(
      JSON.stringify({
        clientUuid: '8a6e0804-2bd0-4672-b79d-d97027f9071a',
        clientIp: '203.0.113.7',
        country: null,
        language: 'en',
        storeRegister: false,
        subscriberId: '905555555555',
        subscriberName: 'John Doe',
        appId,
        flowId: 1,
        siteId: 1,
        registerDate: '2020-03-20 12:35:41',
        registerOtpStatus: false,
      }),
    );
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toMatch(/^reghook\/\d+\.\d+\.\d+$/);
    expect(req!.headers['webhook-id']).toBe(eventId);
    expect(Math.abs(Number(req!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(req!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // Any Standard Webhooks library accepts it.
    const verified = new Webhook(secret).verify(req!.body, req!.headers as Record<string, string>);
    expect(verified).toMatchObject({ appId, subscriberId: '905555555555' });
    await settled(appId, eventId, 'delivered');
    await receiver.close();
  });

  it('a rotated-out secret co-signs, so receivers holding either secret verify', async () => {
    const { appId, receiver, secret: oldSecret } = await projectWithReceiver();
    const rotated = await svc.call('POST', `/v1/projects/${appId}/webhook/secret/rotate`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.json.signingSecret as string;
    expect(newSecret).not.toBe(oldSecret);
    await register(appId);
    const [req] = await receiver.waitFor(1);
    expect((req!.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    const headers = req!.headers as Record<string, string>;
    expect(() => new Webhook(oldSecret).verify(req!.body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(req!.body, headers)).not.toThrow();
    const revealed = await svc.call('POST', `/v1/projects/${appId}/webhook/secret`);
    expect(revealed.json.signingSecret).toBe(newSecret);
    await receiver.close();
  });
});

describe('the retry schedule', () => {
  it(`an always-500 endpoint gets exactly ${MAX_ATTEMPTS} attempts, spaced by the interval, then the event is failed`, async () => {
    const { appId, receiver } = await projectWithReceiver(answer(500, 'boom'));
    const eventId = await register(appId);
    const event = await settled(appId, eventId, 'failed');
    const got = receiver.requests;
    expect(got).toHaveLength(MAX_ATTEMPTS);
    expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
    expect(new Set(got.map((r) => r.body)).size).toBe(1); // the stored bytes, unchanged
    for (let i = 1; i < got.length; i++) {
      expect(got[i]!.receivedAt - got[i - 1]!.receivedAt).toBeGreaterThanOrEqual(INTERVAL_MS - 5);
    }
    expect(event.attempts).toHaveLength(MAX_ATTEMPTS);
    expect(event.attempts.map((a: any) => [a.number, a.trigger, a.statusCode, a.success])).toEqual(
      Array.from({ length: MAX_ATTEMPTS }, (_, i) => [i + 1, 'scheduled', 500, false]),
    );
    expect(event.attempts[0].responseBody).toBe('boom');
    // Nothing more arrives after the last attempt.
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    expect(receiver.requests).toHaveLength(MAX_ATTEMPTS);
    await receiver.close();
  });

  it('a schedule (REGHOOK_RETRY_INTERVAL=300ms,3s): the first retry is planned 300 ms after the failure, the next ones 3 s', async () => {
    const scheduled = await startTestService({ REGHOOK_RETRY_INTERVAL: '300ms,3s', REGHOOK_MAX_ATTEMPTS: '3', REGHOOK_DELIVERY_TIMEOUT: '400ms' });
    const receiver = await startReceiver(answer(500));
    try {
      await scheduled.createProject(1);
      await scheduled.setEndpoint(1, receiver.url);
      const eventId = (await scheduled.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
      // The wait planned after failure n: the next attempt's time minus when attempt n finished.
      const planned = (n: number) =>
        eventually(async () => {
          const e = (await scheduled.call('GET', `/v1/projects/1/events/${eventId}`)).json;
          const a = e.attempts[n - 1];
          if (e.attemptCount !== n || e.nextAttemptAt === null || !a || a.durationMs === null) return undefined;
          return Date.parse(e.nextAttemptAt) - (Date.parse(a.startedAt) + a.durationMs);
        }, 10_000);
      const first = await planned(1);
      const second = await planned(2);
      // Measured from the attempt's end to its recording, so a loaded machine adds a little.
      expect(first).toBeGreaterThanOrEqual(295);
      expect(first).toBeLessThan(1_500);
      expect(second).toBeGreaterThanOrEqual(2_995);
      expect(second).toBeLessThan(4_500);
      await eventually(async () => ((await scheduled.call('GET', `/v1/projects/1/events/${eventId}`)).json.status === 'failed' ? true : undefined), 10_000);
      const gaps = receiver.requests.slice(1).map((r, i) => r.receivedAt - receiver.requests[i]!.receivedAt);
      expect(gaps).toHaveLength(2);
      expect(gaps[0]).toBeGreaterThanOrEqual(295);
      expect(gaps[1]).toBeGreaterThanOrEqual(2_995);
    } finally {
      await receiver.close();
      await scheduled.stop();
    }
  });

  it.each([201, 204, 302])('HTTP %i is a failure (only 200 succeeds, redirects are not followed)', async (status) => {
    const { appId, receiver } = await projectWithReceiver(answer(status, '', { location: 'http://127.0.0.1:9/elsewhere' }));
    const eventId = await register(appId);
    const event = await settled(appId, eventId, 'failed');
    expect(event.attempts.every((a: any) => a.statusCode === status && a.success === false)).toBe(true);
    expect(receiver.requests.every((r) => r.url === '/hooks')).toBe(true);
    await receiver.close();
  });

  it('three failures then a 200 make four attempts and a delivered event', async () => {
    const { appId, receiver } = await projectWithReceiver((_r, i, res) => {
      res.writeHead(i < 3 ? 503 : 200);
      res.end(i < 3 ? 'not yet' : 'thanks');
    });
    const eventId = await register(appId);
    const event = await settled(appId, eventId, 'delivered');
    expect(event.attempts.map((a: any) => a.statusCode)).toEqual([503, 503, 503, 200]);
    expect(event.deliveredAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 2));
    expect(receiver.requests).toHaveLength(4);
    await receiver.close();
  });

  it('an endpoint that never answers fails each attempt on the deadline', async () => {
    const { appId, receiver } = await projectWithReceiver(hang);
    const eventId = await register(appId);
    const event = await eventually(async () => {
      const e = await eventDetail(appId, eventId);
      return e.attempts.length >= 1 && e.attempts[0].success === false ? e : undefined;
    });
    expect(event.attempts[0].error).toBe('timeout');
    expect(event.attempts[0].durationMs).toBeGreaterThanOrEqual(390);
    await receiver.close();
  });

  it('a connection refused is a failed attempt with its error kind', async () => {
    const { appId, receiver } = await projectWithReceiver();
    await receiver.close();
    const eventId = await register(appId);
    const event = await settled(appId, eventId, 'failed');
    expect(event.attempts[0].error).toBe('connection_refused');
    expect(event.attempts[0].statusCode).toBeNull();
  });
});

describe('endpoint changes', () => {
  it('while the endpoint is disabled deliveries wait without using attempts, and resume when enabled', async () => {
    const { appId, receiver } = await projectWithReceiver(answer(500));
    await svc.setEndpoint(appId, receiver.url, false);
    const res = await svc.call('POST', '/v1/registrations', registration({ appId }));
    // created while disabled: skipped (SPEC 2.5); an event that was pending before waits instead.
    expect(res.json.status).toBe('skipped');

    await svc.setEndpoint(appId, receiver.url, true);
    const eventId = await register(appId);
    await receiver.waitFor(1);
    await svc.setEndpoint(appId, receiver.url, false);
    const before = receiver.requests.length;
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 4));
    expect(receiver.requests.length).toBe(before);
    const waiting = await eventDetail(appId, eventId);
    expect(waiting.status).toBe('pending');
    expect(waiting.attempts.length).toBe(before);

    receiver.respondWith(answer(200));
    await svc.setEndpoint(appId, receiver.url, true);
    await settled(appId, eventId, 'delivered');
    await receiver.close();
  });

  it('a changed URL applies to pending deliveries', async () => {
    const { appId, receiver } = await projectWithReceiver(answer(500));
    const eventId = await register(appId);
    await receiver.waitFor(1);
    const second = await startReceiver(answer(200));
    await svc.setEndpoint(appId, second.url);
    await settled(appId, eventId, 'delivered');
    expect(second.requests.map((r) => r.headers['webhook-id'])).toEqual([eventId]);
    await receiver.close();
    await second.close();
  });
});

describe('manual attempts', () => {
  it('Send Test Webhook answers with the attempt, success only on 200', async () => {
    const { appId, receiver, secret } = await projectWithReceiver(answer(200, 'hello'));
    const ok = await svc.call('POST', `/v1/projects/${appId}/webhook/test`);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ success: true, statusCode: 200, error: null, responseBody: 'hello' });
    const [req] = await receiver.waitFor(1);
    expect(new Webhook(secret).verify(req!.body, req!.headers as Record<string, string>)).toMatchObject({ appId });

    receiver.respondWith(answer(500, 'broken'));
    const bad = await svc.call('POST', `/v1/projects/${appId}/webhook/test`);
    expect(bad.json).toMatchObject({ success: false, statusCode: 500, error: 'http_500', responseBody: 'broken' });
    // Not retried.
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    expect(receiver.requests).toHaveLength(2);
    await receiver.close();
  });

  it('redeliver makes one manual attempt of a failed event, and a success delivers it', async () => {
    const { appId, receiver } = await projectWithReceiver(answer(500));
    const eventId = await register(appId);
    await settled(appId, eventId, 'failed');
    receiver.respondWith(answer(200));
    const res = await svc.call('POST', `/v1/projects/${appId}/events/${eventId}/redeliver`);
    expect(res.status).toBe(202);
    const event = await settled(appId, eventId, 'delivered');
    expect(event.attempts.at(-1)).toMatchObject({ number: MAX_ATTEMPTS + 1, trigger: 'manual', statusCode: 200 });
    expect(receiver.requests).toHaveLength(MAX_ATTEMPTS + 1);
    await receiver.close();
  });

  it('recover puts failed events since a time back on a fresh schedule', async () => {
    const { appId, receiver } = await projectWithReceiver(answer(500));
    const since = new Date(Date.now() - 1000).toISOString();
    const eventId = await register(appId);
    await settled(appId, eventId, 'failed');
    receiver.respondWith(answer(200));
    const res = await svc.call('POST', `/v1/projects/${appId}/events/recover`, { since });
    expect(res.json).toEqual({ recovered: 1 });
    await settled(appId, eventId, 'delivered');
    const none = await svc.call('POST', `/v1/projects/${appId}/events/recover`, { since });
    expect(none.json).toEqual({ recovered: 0 });
    await receiver.close();
  });
});

// Endpoints that hang: a service with a long deadline, so the hanging attempts are certainly still
// in flight while the test looks (a loaded CI machine cannot turn this into a race).
describe('endpoints that hang', () => {
  let patient: TestService;
  beforeAll(async () => {
    patient = await startTestService({ REGHOOK_DELIVERY_TIMEOUT: '20s', REGHOOK_ENDPOINT_CONCURRENCY: '2' });
  });
  afterAll(async () => {
    await patient.stop();
  });

  async function hangingProject(appId: number, events: number) {
    const receiver = await startReceiver(hang);
    await patient.createProject(appId);
    await patient.setEndpoint(appId, receiver.url);
    for (let i = 0; i < events; i++) {
      expect((await patient.call('POST', '/v1/registrations', registration({ appId }))).status).toBe(202);
    }
    await receiver.waitFor(Math.min(events, 2));
    return receiver;
  }

  it('a hanging endpoint does not delay deliveries to other projects', async () => {
    const slow = await hangingProject(901, 10);
    const fast = await startReceiver(answer(200));
    await patient.createProject(902);
    await patient.setEndpoint(902, fast.url);
    const res = await patient.call('POST', '/v1/registrations', registration({ appId: 902 }));
    await fast.waitFor(1);
    await eventually(async () => ((await patient.call('GET', `/v1/projects/902/events/${res.json.eventId}`)).json.status === 'delivered' ? true : undefined));
    // Served while every slow attempt was still hanging: none of them has an outcome yet.
    const slowEvents = (await patient.call('GET', '/v1/projects/901/events')).json.data;
    const details = await Promise.all(slowEvents.map(async (e: any) => (await patient.call('GET', `/v1/projects/901/events/${e.eventId}`)).json));
    expect(details.flatMap((e) => e.attempts).filter((a: any) => a.success !== null)).toHaveLength(0);
    await slow.close();
    await fast.close();
  });

  it('redeliver answers 409 while a scheduled attempt of the event is in flight (no concurrent duplicate)', async () => {
    const slow = await hangingProject(904, 1);
    const [event] = (await patient.call('GET', '/v1/projects/904/events')).json.data;
    const res = await patient.call('POST', `/v1/projects/904/events/${event.eventId}/redeliver`);
    expect(res.status).toBe(409);
    expect(res.json.detail).toMatch(/in flight/);
    expect(slow.requests).toHaveLength(1);
    await slow.close();
  });

  it('gets no more attempts than its limit, and does not make the dispatcher spin', async () => {
    const slow = await hangingProject(903, 6);
    // Count claims through the store the service uses, while its attempts hang.
    const store = patient.store as { claimDue: (...args: any[]) => Promise<unknown> };
    const original = store.claimDue.bind(store);
    let claims = 0;
    store.claimDue = (...args: any[]) => {
      claims++;
      return original(...args);
    };
    await new Promise((r) => setTimeout(r, 200));
    store.claimDue = original;
    expect(claims).toBeLessThan(10);
    // And never more attempts in flight to it than REGHOOK_ENDPOINT_CONCURRENCY (2 here).
    expect(slow.requests).toHaveLength(2);
    await slow.close();
  });
});

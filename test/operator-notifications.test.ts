/**
 * Operator notifications (SPEC section 5) end to end, on both stores, with real receivers: three
 * failures make one endpoint.failing, a success one endpoint.recovered, the last attempt of an
 * event one event.failed; each is Standard Webhooks signed with the operator's secret, carries no
 * personal data, is retried when the operator's server fails, and is listed at /v1/operator-events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret, headerHasSignature, secretKey, sign } from '@reghook/receiver/signing';
import { answer, startReceiver, type ReceivedRequest, type Receiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('operator notifications');
const SECRET = generateSecret();

/** Verifies a request as the operator's server would: the signature over id.timestamp.body with the operator secret. */
function verified(r: ReceivedRequest): { id: string; type: string; timestamp: string; data: Record<string, any> } {
  const id = r.headers['webhook-id'] as string;
  const ts = Number(r.headers['webhook-timestamp']);
  expect(headerHasSignature(r.headers['webhook-signature'] as string, sign(secretKey(SECRET), id, ts, r.body))).toBe(true);
  expect(r.headers['content-type']).toBe('application/json');
  const envelope = JSON.parse(r.body) as { type: string; timestamp: string; data: Record<string, any> };
  expect(Object.keys(envelope)).toEqual(['type', 'timestamp', 'data']);
  return { id, ...envelope };
}

describe.each(backends)('operator notifications (%s)', (backend) => {
  let svc: TestService;
  let operator: Receiver;
  let endpoint: Receiver;

  beforeAll(async () => {
    // The operator's server fails its first request: that notification is retried, same id and body.
    operator = await startReceiver((_req, i, res) => {
      res.writeHead(i === 0 ? 503 : 200);
      res.end();
    });
    endpoint = await startReceiver(answer(500));
    svc = await startTestService(
      {
        REGHOOK_FAILING_AFTER: '3',
        REGHOOK_MAX_ATTEMPTS: '4',
        REGHOOK_RETRY_INTERVAL: '100ms',
        REGHOOK_OPERATOR_WEBHOOK_URL: operator.url,
        REGHOOK_OPERATOR_WEBHOOK_SECRET: SECRET,
      },
      undefined,
      backend,
      { operatorPollMs: 50 },
    );
  });
  afterAll(async () => {
    await svc?.stop();
    await operator?.close();
    await endpoint?.close();
  });

  it('tells endpoint.failing once, event.failed once, endpoint.recovered once; retries a failed send; lists them for the admin only', async () => {
    const apiKey = await svc.createProject(7);
    await svc.setEndpoint(7, endpoint.url);
    const failedId = (await svc.call('POST', '/v1/registrations', registration({ appId: 7 }))).json.eventId as string;
    await eventually(async () => ((await svc.call('GET', `/v1/projects/7/events/${failedId}`)).json.status === 'failed' ? true : undefined));
    // Then the endpoint answers again: the next event's success ends the streak.
    endpoint.respondWith(answer(200));
    const okId = (await svc.call('POST', '/v1/registrations', registration({ appId: 7 }))).json.eventId as string;
    await eventually(async () => ((await svc.call('GET', `/v1/projects/7/events/${okId}`)).json.status === 'delivered' ? true : undefined));

    // Four requests: three notifications, the first of them twice (the operator answered 503 first).
    await operator.waitFor(4, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const received = operator.requests.map(verified);
    expect(received).toHaveLength(4);
    // The one the operator refused is sent again later (other notifications may go in between), byte for byte.
    const again = operator.requests.filter((r, i) => i > 0 && r.headers['webhook-id'] === received[0]!.id);
    expect(again).toHaveLength(1);
    expect(again[0]!.body).toBe(operator.requests[0]!.body);
    const byType = new Map(received.map((r) => [r.type, r]));
    expect(new Set(received.map((r) => r.id)).size).toBe(3);
    expect([...byType.keys()].sort()).toEqual(['endpoint.failing', 'endpoint.recovered', 'event.failed']);

    const failing = byType.get('endpoint.failing')!.data;
    expect(failing).toMatchObject({ appId: 7, url: endpoint.url, consecutiveFailures: 3, lastAttempt: { statusCode: 500, error: 'http_500' } });
    const eventFailed = byType.get('event.failed')!.data;
    expect(eventFailed).toMatchObject({ appId: 7, eventId: failedId, attempts: 4, lastAttempt: { statusCode: 500, error: 'http_500' } });
    const recovered = byType.get('endpoint.recovered')!.data;
    expect(recovered).toEqual({ appId: 7, url: endpoint.url, failingSince: failing.failingSince, recoveredAt: expect.any(String) });
    expect(Date.parse(recovered.recoveredAt)).toBeGreaterThan(Date.parse(failing.failingSince));
    for (const r of operator.requests) expect(r.body).not.toMatch(/905555555555|John Doe|203\.0\.113\.7|clientUuid|subscriber/);

    const listed = await svc.call('GET', '/v1/operator-events');
    expect(listed.status).toBe(200);
    expect(listed.json.nextCursor).toBeNull();
    expect(listed.json.data.map((e: any) => [e.type, e.status])).toEqual([
      ['endpoint.recovered', 'delivered'],
      ['event.failed', 'delivered'],
      ['endpoint.failing', 'delivered'],
    ]);
    const first = listed.json.data.find((e: any) => e.id === received[0]!.id);
    expect(first).toMatchObject({ attemptCount: 2, lastAttempt: { statusCode: 200, error: null }, nextAttemptAt: null });
    expect(first.payload).toEqual(JSON.parse(operator.requests[0]!.body));
    const page = await svc.call('GET', '/v1/operator-events?limit=2');
    expect(page.json.data).toHaveLength(2);
    expect((await svc.call('GET', `/v1/operator-events?cursor=${page.json.nextCursor}`)).json.data.map((e: any) => e.type)).toEqual(['endpoint.failing']);

    const refused = await svc.call('GET', '/v1/operator-events', undefined, apiKey);
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('REGHOOK_ADMIN_ONLY');

    // Never about themselves: the project's attempts and health count its own five attempts only.
    const stats = (await svc.call('GET', '/v1/projects/7/webhook/stats')).json;
    expect(stats.attempts).toEqual({ succeeded: 1, failed: 4 });
    expect(stats.health).toBe('healthy');
  });
});

describe('operator notifications not configured', () => {
  it('stores and sends none', async () => {
    const endpoint = await startReceiver(answer(500));
    const svc = await startTestService({ REGHOOK_FAILING_AFTER: '1', REGHOOK_MAX_ATTEMPTS: '1' });
    try {
      await svc.createProject(1);
      await svc.setEndpoint(1, endpoint.url);
      const id = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
      await eventually(async () => ((await svc.call('GET', `/v1/projects/1/events/${id}`)).json.status === 'failed' ? true : undefined));
      expect((await svc.call('GET', '/v1/operator-events')).json).toEqual({ data: [], nextCursor: null });
    } finally {
      await svc.stop();
      await endpoint.close();
    }
  });
});

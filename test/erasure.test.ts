/**
 * Erasure cancels pending deliveries (SPEC sections 4 and 7): a person erased while their webhook
 * is still owed is never sent, on either store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('erasure');

describe.each(backends)('erasure of a person whose webhook is still owed (%s)', (backend) => {
  let svc: TestService;
  let receiver: Receiver;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_RETRY_INTERVAL: '200ms', REGHOOK_MAX_ATTEMPTS: '10' }, undefined, backend);
    receiver = await startReceiver(answer(500));
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  it('endpoint failing, person registered then erased, endpoint fixed: nothing more is sent and the event is erased', async () => {
    await svc.createProject(7);
    await svc.setEndpoint(7, receiver.url);
    const subscriberId = `erase-${backend}`;
    const kept = await svc.call('POST', '/v1/registrations', registration({ appId: 7 }));
    const res = await svc.call('POST', '/v1/registrations', registration({ appId: 7, subscriberId }));
    expect(res.status).toBe(202);
    const eventId = res.json.eventId as string;
    const ofEvent = () => receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);
    await eventually(() => (ofEvent().length >= 2 ? true : undefined));

    const erased = await svc.call('DELETE', `/v1/projects/7/subscribers/${subscriberId}`);
    expect(erased.status).toBe(200);
    const sentBefore = ofEvent().length;
    receiver.respondWith(answer(200));
    // The other person's event is delivered by the fixed endpoint...
    await eventually(async () => ((await svc.call('GET', `/v1/projects/7/events/${kept.json.eventId}`)).json.status === 'delivered' ? true : undefined));
    // ...while the erased one stays erased, and every request that reached the receiver had a body.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const e = (await svc.call('GET', `/v1/projects/7/events/${eventId}`)).json;
    expect(e).toMatchObject({ status: 'erased', payload: null, nextAttemptAt: null, deliveredAt: null });
    expect(ofEvent().length).toBeLessThanOrEqual(sentBefore + 1); // at most the attempt that was already in flight
    expect(receiver.requests.every((r) => r.body.length > 0)).toBe(true);
    expect((await svc.call('GET', '/v1/projects/7/events?status=erased')).json.data.map((x: { eventId: string }) => x.eventId)).toEqual([eventId]);
    // Not redeliverable.
    expect((await svc.call('POST', `/v1/projects/7/events/${eventId}/redeliver`)).status).toBe(404);
  }, 30_000);
});

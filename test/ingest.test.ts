import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, registration, startTestService, uuid, type TestService } from './helpers/service.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

// Every row of SPEC section 5's two ingest tables, and the trigger rules of section 2.
let svc: TestService;
let receiver: Receiver;

beforeAll(async () => {
  svc = await startTestService();
  receiver = await startReceiver();
  await svc.createProject(1);
  await svc.setEndpoint(1, receiver.url);
  await svc.createProject(2); // no endpoint: events are skipped
});
afterAll(async () => {
  await svc.stop();
  await receiver.close();
});

const eventsOf = async (appId: number) => (await svc.call('GET', `/v1/projects/${appId}/events?limit=250`)).json.data as any[];

describe('registrations', () => {
  it('a Self Service registration creates a pending event at once', async () => {
    const res = await svc.call('POST', '/v1/registrations', registration());
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ eventId: expect.stringMatching(/^evt_[0-9A-Z]{26}$/), status: 'pending' });
  });

  it('an event created while the project has no endpoint is recorded as skipped', async () => {
    const reg = registration({ appId: 2 });
    const res = await svc.call('POST', '/v1/registrations', reg);
    expect(res.status).toBe(202);
    expect(res.json.status).toBe('skipped');
    expect((await eventsOf(2)).map((e) => e.eventId)).toContain(res.json.eventId);
  });

  it('a store registration waits for the first purchase', async () => {
    const res = await svc.call('POST', '/v1/registrations', registration({ storeRegister: true }));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ eventId: null, status: 'awaiting_first_purchase' });
  });

  it('the same user again with the same data answers 200 with the original answer', async () => {
    const reg = registration();
    const first = await svc.call('POST', '/v1/registrations', reg);
    const again = await svc.call('POST', '/v1/registrations', reg);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
  });

  it('the same user with the same date in another notation is the same data', async () => {
    const reg = registration({ registerDate: '2020-03-20 12:35:41' });
    const first = await svc.call('POST', '/v1/registrations', reg);
    const again = await svc.call('POST', '/v1/registrations', { ...reg, registerDate: '2020-03-20T15:35:41+03:00' });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
  });

  it('the same user with different data answers 409 and changes nothing', async () => {
    const reg = registration();
    const first = await svc.call('POST', '/v1/registrations', reg);
    const before = (await eventsOf(1)).length;
    const res = await svc.call('POST', '/v1/registrations', { ...reg, subscriberName: 'Someone Else' });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 409, code: 'REGHOOK_REGISTRATION_CONFLICT' });
    expect((await eventsOf(1)).length).toBe(before);
    const event = await svc.call('GET', `/v1/projects/1/events/${first.json.eventId}`);
    expect(event.json.payload.subscriberName).toBe('John Doe');
  });

  it('an unknown appId answers 404', async () => {
    const res = await svc.call('POST', '/v1/registrations', registration({ appId: 999 }));
    expect(res.status).toBe(404);
    expect(res.json.code).toBe('REGHOOK_PROJECT_NOT_FOUND');
  });

  it('concurrent duplicate registrations of one user produce one event', async () => {
    const reg = registration();
    const answers = await Promise.all(Array.from({ length: 20 }, () => svc.call('POST', '/v1/registrations', reg)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    expect(new Set(answers.map((a) => a.json.eventId)).size).toBe(1);
    expect((await eventsOf(1)).filter((e) => e.clientUuid === reg.clientUuid)).toHaveLength(1);
  });
});

describe('purchases', () => {
  const purchase = (clientUuid: string, transactionId = `tx-${uuid()}`, appId = 1) => ({ appId, clientUuid, transactionId });

  it("a store user's first purchase triggers the event; later purchases never do", async () => {
    const reg = registration({ storeRegister: true });
    await svc.call('POST', '/v1/registrations', reg);
    const first = await svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string));
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ triggered: true, eventId: expect.stringMatching(/^evt_/) });
    const later = await svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string));
    expect(later.status).toBe(200);
    expect(later.json).toEqual({ triggered: false, reason: 'not_first_purchase' });
    const events = (await eventsOf(1)).filter((e) => e.clientUuid === reg.clientUuid);
    expect(events.map((e) => e.eventId)).toEqual([first.json.eventId]);
  });

  it('the event of a store user carries the registration as reported', async () => {
    const reg = registration({ storeRegister: true, subscriberName: null, country: null });
    await svc.call('POST', '/v1/registrations', reg);
    const res = await svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string));
    const event = await svc.call('GET', `/v1/projects/1/events/${res.json.eventId}`);
    expect(event.json.payload).toMatchObject({ clientUuid: reg.clientUuid, storeRegister: true, subscriberName: null, country: null });
  });

  it("a Self Service user's purchase does not trigger (the event was sent at registration)", async () => {
    const reg = registration();
    await svc.call('POST', '/v1/registrations', reg);
    const res = await svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ triggered: false, reason: 'self_service_user' });
  });

  it('a purchase before its registration is recorded; the registration then creates the event', async () => {
    const reg = registration({ storeRegister: true });
    const early = await svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string));
    expect(early.status).toBe(202);
    expect(early.json).toEqual({ triggered: false, reason: 'awaiting_registration' });
    const res = await svc.call('POST', '/v1/registrations', reg);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ eventId: expect.stringMatching(/^evt_/), status: 'pending' });
    const later = await svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string));
    expect(later.json).toEqual({ triggered: false, reason: 'not_first_purchase' });
  });

  it('the same transactionId again answers 200 with the original answer', async () => {
    const reg = registration({ storeRegister: true });
    await svc.call('POST', '/v1/registrations', reg);
    const p = purchase(reg.clientUuid as string);
    const first = await svc.call('POST', '/v1/purchases', p);
    const again = await svc.call('POST', '/v1/purchases', p);
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
  });

  it('a transactionId reused for another user answers 409', async () => {
    const p = purchase(uuid());
    await svc.call('POST', '/v1/purchases', p);
    const res = await svc.call('POST', '/v1/purchases', { ...p, clientUuid: uuid() });
    expect(res.status).toBe(409);
  });

  it('a purchase for an unknown appId answers 404', async () => {
    const res = await svc.call('POST', '/v1/purchases', purchase(uuid(), 'tx-x', 999));
    expect(res.status).toBe(404);
  });

  it('50 concurrent first purchases of one store user produce exactly one event', async () => {
    const reg = registration({ storeRegister: true });
    await svc.call('POST', '/v1/registrations', reg);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => svc.call('POST', '/v1/purchases', purchase(reg.clientUuid as string, `race-${i}-${uuid()}`))),
    );
    const triggered = answers.filter((a) => a.json.triggered === true);
    expect(triggered).toHaveLength(1);
    expect(triggered[0]!.status).toBe(202);
    expect(answers.filter((a) => a.json.reason === 'not_first_purchase')).toHaveLength(49);
    const events = (await eventsOf(1)).filter((e) => e.clientUuid === reg.clientUuid);
    expect(events).toHaveLength(1);
    // One event, one delivery: once delivered, the receiver has seen its webhook-id exactly once.
    await eventually(async () => {
      const detail = await svc.call('GET', `/v1/projects/1/events/${events[0].eventId}`);
      return detail.json.status === 'delivered' ? true : undefined;
    });
    expect(receiver.requests.filter((r) => r.headers['webhook-id'] === events[0].eventId)).toHaveLength(1);
  });
});

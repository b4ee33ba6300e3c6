/**
 * SPEC section 5: the delivery log's filters (status, eventId, clientUuid, since/until) with the
 * newest attempt per row, and replay by filter with dryRun — over HTTP, on both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, testBackends, uuid, type TestService } from './helpers/service.js';

const backends = await testBackends('event search');

describe.each(backends)('the delivery log and replay (%s)', (backend) => {
  let svc: TestService;
  let receiver: Receiver;
  let offset = 0;
  const clock = { now: () => Date.UTC(2026, 0, 1) + offset };
  const at = (hours: number) => new Date(Date.UTC(2026, 0, 1) + hours * 3_600_000).toISOString();

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '1', REGHOOK_RETRY_INTERVAL: '100ms' }, clock, backend);
    receiver = await startReceiver(answer(500, 'down'));
    await svc.createProject(1);
    await svc.setEndpoint(1, receiver.url);
    await svc.createProject(2);
  });
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  const list = async (query: string) => {
    const res = await svc.call('GET', `/v1/projects/1/events?${query}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.json.data as { eventId: string; clientUuid: string; status: string; lastAttempt: unknown }[];
  };
  const status = async (eventId: string) => (await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json.status as string;

  const ids: string[] = [];
  const uuids: string[] = [];

  it('filters by time, clientUuid (any case) and eventId, each row with its newest attempt', async () => {
    for (let hour = 0; hour < 4; hour++) {
      offset = hour * 3_600_000;
      const clientUuid = uuid();
      uuids.push(clientUuid);
      const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid }));
      ids.push(res.json.eventId);
      await eventually(async () => ((await status(res.json.eventId)) === 'failed' ? true : undefined));
    }
    expect((await list(`since=${at(2)}`)).map((e) => e.eventId)).toEqual([ids[3], ids[2]]);
    expect((await list(`until=${at(1)}`)).map((e) => e.eventId)).toEqual([ids[1], ids[0]]);
    expect((await list(`since=${at(1)}&until=${at(2)}&status=failed`)).map((e) => e.eventId)).toEqual([ids[2], ids[1]]);
    expect((await list(`clientUuid=${uuids[1]!.toUpperCase()}`)).map((e) => e.eventId)).toEqual([ids[1]]);
    const [one] = await list(`eventId=${ids[0]}`);
    expect(one).toMatchObject({ eventId: ids[0], clientUuid: uuids[0], status: 'failed', lastAttempt: { at: expect.any(String), statusCode: 500, error: 'http_500' } });
    // Another project's key sees none of them.
    expect((await svc.call('GET', `/v1/projects/2/events?eventId=${ids[0]}`)).json.data).toEqual([]);
  });

  it.each([
    ['since=yesterday', '/query/since'],
    ['clientUuid=not-a-uuid', '/query/clientUuid'],
    ['eventId=evt_short', '/query/eventId'],
  ])('refuses %s with 400 naming the field', async (query, path) => {
    const res = await svc.call('GET', `/v1/projects/1/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('REGHOOK_VALIDATION');
    expect(JSON.stringify(res.json.errors)).toContain(path);
  });

  it('replays by filter: dryRun counts and changes nothing; then the events are delivered again, audited', async () => {
    const dry = await svc.call('POST', '/v1/projects/1/events/replay', { status: ['failed'], since: at(1), until: at(2), dryRun: true });
    expect([dry.status, dry.json]).toEqual([200, { count: 2, dryRun: true }]);
    expect(await status(ids[1]!)).toBe('failed');

    receiver.respondWith(answer(200));
    const done = await svc.call('POST', '/v1/projects/1/events/replay', { status: ['failed'], since: at(1), until: at(2) });
    expect([done.status, done.json]).toEqual([202, { count: 2 }]);
    for (const eventId of [ids[1]!, ids[2]!]) await eventually(async () => ((await status(eventId)) === 'delivered' ? true : undefined));
    expect(await status(ids[0]!)).toBe('failed');
    expect(await status(ids[3]!)).toBe('failed');
    const audit = (await svc.call('GET', '/v1/projects/1/audit-log')).json.data as { action: string; details: Record<string, unknown> }[];
    expect(audit.find((e) => e.action === 'events.replayed')?.details).toMatchObject({ statuses: ['failed'], since: at(1), until: at(2), count: 2 });
  });

  it('refuses a replay without an endpoint (409), of erased events (400), and without since (400)', async () => {
    expect((await svc.call('POST', '/v1/projects/2/events/replay', { since: at(0) })).json.code).toBe('REGHOOK_ENDPOINT_MISSING');
    expect((await svc.call('POST', '/v1/projects/2/events/replay', { since: at(0), dryRun: true })).json).toEqual({ count: 0, dryRun: true });
    expect((await svc.call('POST', '/v1/projects/1/events/replay', { status: ['erased'], since: at(0) })).status).toBe(400);
    expect((await svc.call('POST', '/v1/projects/1/events/replay', {})).status).toBe(400);
  });
});

/**
 * SPEC section 4: a project may cap its endpoint at rateLimitPerSecond deliveries per second. A
 * backlog to a capped endpoint is paced (never more than rate + 1 in any second), while another
 * project's backlog goes at full speed beside it. The pace is shared by every process of a
 * deployment: test/scale/processes.test.ts runs two workers against one capped endpoint; the rule
 * itself is test/domain/pacing.test.ts, the store's slots the store contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually, registration, startTestService, type TestService } from '../helpers/service.js';

let svc: TestService;
const receivers: Receiver[] = [];

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_RETRY_INTERVAL: '100ms' });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await svc?.stop();
});

/** Most arrivals inside any window of `ms`. */
const densest = (times: number[], ms: number) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + ms).length));

describe('rateLimitPerSecond', () => {
  it('paces a capped endpoint at its rate while an uncapped one goes at full speed', async () => {
    const capped = await startReceiver(answer(200));
    const free = await startReceiver(answer(200));
    receivers.push(capped, free);
    await svc.createProject(1);
    await svc.createProject(2);
    expect((await svc.call('PUT', '/v1/projects/1/webhook', { url: capped.url, enabled: false, rateLimitPerSecond: 5 })).json.rateLimitPerSecond).toBe(5);
    await svc.call('PUT', '/v1/projects/2/webhook', { url: free.url, enabled: false });
    // A backlog (reported while disabled, then replayed at once) to each.
    const since = new Date().toISOString();
    for (let i = 0; i < 15; i++) {
      await svc.call('POST', '/v1/registrations', registration({ appId: 1 }));
      await svc.call('POST', '/v1/registrations', registration({ appId: 2 }));
    }
    await svc.call('PUT', '/v1/projects/1/webhook', { url: capped.url, enabled: true });
    await svc.call('PUT', '/v1/projects/2/webhook', { url: free.url, enabled: true });
    // The cap is kept by a change that does not name it.
    expect((await svc.call('GET', '/v1/projects/1/webhook')).json.rateLimitPerSecond).toBe(5);
    const started = Date.now();
    for (const appId of [1, 2]) await svc.call('POST', `/v1/projects/${appId}/events/replay`, { status: ['skipped'], since });

    await free.waitFor(15, 10_000);
    await capped.waitFor(15, 10_000);
    const span = (r: Receiver) => Math.max(...r.requests.map((q) => q.receivedAt)) - Math.min(...r.requests.map((q) => q.receivedAt));
    expect(densest(capped.requests.map((r) => r.receivedAt), 1000)).toBeLessThanOrEqual(6);
    expect(span(capped)).toBeGreaterThanOrEqual(14 * 200 - 50);
    // The uncapped project is not paced: its backlog goes in well under half that time.
    expect(span(free)).toBeLessThan(span(capped) / 2);
    expect(Date.now() - started).toBeGreaterThan(0);
    await eventually(async () => ((await svc.call('GET', '/v1/projects/1/events?status=delivered')).json.data.length === 15 ? true : undefined));
  });

  it('a delivery whose slot passed while it waited goes one interval after the one before, not in a burst', async () => {
    const capped = await startReceiver(answer(200));
    receivers.push(capped);
    await svc.createProject(4);
    await svc.call('PUT', '/v1/projects/4/webhook', { url: capped.url, rateLimitPerSecond: 10 });
    // Every slot the store hands out is already 10 s old by the time the attempts run (as after a
    // stalled event loop): only this process's own spacing stands between them and a burst.
    const store = svc.store;
    const claim = store.claimDue.bind(store);
    store.claimDue = async (o) => (await claim(o)).map((d) => (d.sendAt === null ? d : { ...d, sendAt: d.sendAt - 10_000 }));
    try {
      for (let i = 0; i < 8; i++) await svc.call('POST', '/v1/registrations', registration({ appId: 4 }));
      await capped.waitFor(8, 10_000);
    } finally {
      store.claimDue = claim;
    }
    const times = capped.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 100 ms apart, less a little for the timers (a burst would be 0–2 ms apart).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(80);
  });

  it('refuses a cap outside 1 to 10,000 with 400, and null clears it', async () => {
    const receiver = await startReceiver(answer(200));
    receivers.push(receiver);
    await svc.createProject(3);
    for (const bad of [0, -1, 1.5, 10_001, '5']) {
      const res = await svc.call('PUT', '/v1/projects/3/webhook', { url: receiver.url, rateLimitPerSecond: bad });
      expect([res.status, res.json.code]).toEqual([400, 'REGHOOK_VALIDATION']);
    }
    await svc.call('PUT', '/v1/projects/3/webhook', { url: receiver.url, rateLimitPerSecond: 2 });
    expect((await svc.call('PUT', '/v1/projects/3/webhook', { url: receiver.url, rateLimitPerSecond: null })).json.rateLimitPerSecond).toBeNull();
  });
});

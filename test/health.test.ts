/**
 * Endpoint health, the failing list, per-window stats and the failure metrics through the API
 * (SPEC sections 4 and 5), on both stores, with real receivers and a fake clock: retries become due
 * only when the test moves the clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketUpperBound, latencyBucket } from '../src/domain/latency-histogram.js';
import { answer, startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('endpoint health');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 4, 1, 9, 17, 23, 456);

class FakeClock {
  t = T0;
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

describe.each(backends)('endpoint health and stats (%s)', (backend) => {
  let svc: TestService;
  const clock = new FakeClock();
  const receivers: Receiver[] = [];
  let nextAppId = 100;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_RETRY_INTERVAL: '1h', REGHOOK_MAX_ATTEMPTS: '3', REGHOOK_DELIVERY_TIMEOUT: '2s' }, clock, backend);
  });
  afterAll(async () => {
    await svc.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  /** A project whose endpoint answers `status` (changeable through the receiver). */
  async function project(status = 200) {
    const appId = nextAppId++;
    const receiver = await startReceiver(answer(status));
    receivers.push(receiver);
    await svc.createProject(appId);
    await svc.setEndpoint(appId, receiver.url);
    return { appId, receiver };
  }

  async function register(appId: number) {
    const res = await svc.call('POST', '/v1/registrations', registration({ appId }));
    expect(res.status).toBe(202);
    return res.json.eventId as string;
  }

  const event = async (appId: number, eventId: string) => (await svc.call('GET', `/v1/projects/${appId}/events/${eventId}`)).json;
  /** Waits until the event has `n` finished attempts. */
  const attempted = (appId: number, eventId: string, n: number) =>
    eventually(async () => {
      const e = await event(appId, eventId);
      // An attempt in flight has no outcome yet (success null; its error reads 'interrupted').
      const done = e.attempts.filter((a: { success: boolean | null }) => a.success !== null);
      return done.length >= n ? e : undefined;
    });
  const webhookOf = async (appId: number) => (await svc.call('GET', `/v1/projects/${appId}`)).json.webhook;

  it('unknown before any attempt; failing at the third failed scheduled attempt, since the first; manual and test attempts change nothing; a scheduled success recovers', async () => {
    const { appId, receiver } = await project(500);
    expect(await webhookOf(appId)).toEqual({ enabled: true, health: 'unknown', consecutiveFailures: 0, failingSince: null });
    const first = clock.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await register(appId));
      await attempted(appId, ids[i]!, 1);
      expect(await webhookOf(appId)).toEqual(
        i < 2 ? { enabled: true, health: 'healthy', consecutiveFailures: i + 1, failingSince: null } : { enabled: true, health: 'failing', consecutiveFailures: 3, failingSince: new Date(first).toISOString() },
      );
      clock.advance(60_000);
    }
    receiver.respondWith(answer(200));
    expect((await svc.call('POST', `/v1/projects/${appId}/webhook/test`)).json.success).toBe(true);
    expect((await svc.call('POST', `/v1/projects/${appId}/events/${ids[0]}/redeliver`)).status).toBe(202);
    await eventually(async () => ((await event(appId, ids[0]!)).status === 'delivered' ? true : undefined));
    expect(await webhookOf(appId)).toMatchObject({ health: 'failing', consecutiveFailures: 3 });
    const listed = (await svc.call('GET', '/v1/projects?limit=250')).json.data.find((p: { appId: number }) => p.appId === appId);
    expect(listed.webhook).toMatchObject({ health: 'failing', failingSince: new Date(first).toISOString() });
    // The retries (due an hour after each failure) succeed: healthy again.
    clock.advance(HOUR);
    await attempted(appId, ids[1]!, 2);
    expect(await webhookOf(appId)).toEqual({ enabled: true, health: 'healthy', consecutiveFailures: 0, failingSince: null });
    const stats = (await svc.call('GET', `/v1/projects/${appId}/webhook/stats`)).json;
    expect(stats).toMatchObject({ health: 'healthy', consecutiveFailures: 0, failingSince: null, lastFailureAt: new Date(first + 120_000).toISOString() });
    expect(stats.lastSuccessAt).not.toBeNull();
  });

  it('GET /v1/projects?health=failing lists failing endpoints longest first, page by page', async () => {
    const order: number[] = [];
    const failing = [await project(500), await project(500), await project(500)];
    const healthy = await project(200);
    // Streaks start in the order 2nd, 3rd, 1st project.
    for (const p of [failing[1]!, failing[2]!, failing[0]!]) {
      order.push(p.appId);
      for (let i = 0; i < 3; i++) await attempted(p.appId, await register(p.appId), 1);
      clock.advance(1_000);
    }
    await attempted(healthy.appId, await register(healthy.appId), 1);
    const all = (await svc.call('GET', '/v1/projects?health=failing&limit=250')).json;
    const ours = all.data.filter((p: { appId: number }) => order.includes(p.appId)).map((p: { appId: number }) => p.appId);
    expect(ours).toEqual(order);
    expect(all.data.some((p: { appId: number }) => p.appId === healthy.appId)).toBe(false);
    const since = all.data.map((p: { webhook: { failingSince: string } }) => p.webhook.failingSince);
    expect([...since].sort()).toEqual(since);
    // Paging: one at a time, the same order.
    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await svc.call('GET', `/v1/projects?health=failing&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      paged.push(...res.json.data.map((p: { appId: number }) => p.appId));
      cursor = res.json.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all.data.map((p: { appId: number }) => p.appId));
    expect((await svc.call('GET', '/v1/projects?health=healthy')).status).toBe(400);
  });

  it('stats per window: events by creation time, attempts, success latency percentiles as a reference computes them', async () => {
    let n = 0;
    const { appId } = await project();
    const receiver = receivers.at(-1)!;
    // Every 4th request fails; the others answer after 0-40 ms.
    receiver.respondWith((_req, _i, res) => {
      const k = n++;
      setTimeout(() => {
        res.writeHead(k % 4 === 3 ? 503 : 200);
        res.end('x');
      }, (k * 7) % 41);
    });
    const ids: string[] = [];
    for (const gap of [0, 20 * 60_000, 2 * HOUR, 10 * HOUR, 20 * HOUR, 3 * DAY, 5 * DAY, 9 * DAY, 12 * DAY, 50 * 60_000, 30 * 60_000, 5 * 60_000]) {
      clock.advance(gap);
      for (let i = 0; i < 3; i++) {
        const id = await register(appId);
        ids.push(id);
        await attempted(appId, id, 1);
      }
    }
    // Let retries that became due run, then settle.
    await eventually(async () => ((await svc.store.queueStats(clock.now())).due === 0 ? true : undefined));
    const details = await Promise.all(ids.map(async (id) => event(appId, id)));
    await eventually(async () => {
      const q = await svc.store.queueStats(clock.now());
      return q.due === 0 && q.scheduled === details.filter((d) => d.status === 'pending').length ? true : undefined;
    });
    const fresh = await Promise.all(ids.map(async (id) => event(appId, id)));
    for (const window of ['1h', '24h', '7d', '30d'] as const) {
      const since = clock.now() - { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY }[window];
      const created = fresh.filter((e) => Date.parse(e.createdAt) >= since);
      const attempts = fresh.flatMap((e) => e.attempts).filter((a: { startedAt: string }) => Date.parse(a.startedAt) >= since);
      const ok = attempts.filter((a: { statusCode: number | null }) => a.statusCode === 200).map((a: { durationMs: number }) => a.durationMs).sort((a: number, b: number) => a - b);
      const pct = (p: number) => bucketUpperBound(latencyBucket(ok[Math.max(1, Math.ceil((p * ok.length) / 100)) - 1]!));
      const res = await svc.call('GET', `/v1/projects/${appId}/webhook/stats?window=${window}`);
      expect(res.status).toBe(200);
      expect(res.json, window).toMatchObject({
        window,
        events: {
          pending: created.filter((e) => e.status === 'pending').length,
          delivered: created.filter((e) => e.status === 'delivered').length,
          failed: created.filter((e) => e.status === 'failed').length,
          skipped: 0,
        },
        attempts: { succeeded: ok.length, failed: attempts.length - ok.length },
        latencyMs: ok.length === 0 ? null : { p50: pct(50), p95: pct(95), p99: pct(99) },
        health: 'healthy',
      });
    }
    const week = (await svc.call('GET', `/v1/projects/${appId}/webhook/stats?window=7d`)).json;
    const month = (await svc.call('GET', `/v1/projects/${appId}/webhook/stats?window=30d`)).json;
    expect(month.events.delivered).toBeGreaterThan(week.events.delivered);
    expect((await svc.call('GET', `/v1/projects/${appId}/webhook/stats`)).json.window).toBe('24h');
    expect((await svc.call('GET', `/v1/projects/${appId}/webhook/stats?window=2d`)).status).toBe(400);
  });

  it('metrics: events that used their last attempt, endpoints failing now, the age of the oldest pending event', async () => {
    const scrape = async (name: string) => {
      const res = await svc.app!.inject({ method: 'GET', url: '/metrics' });
      const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1]);
    };
    const failedBefore = await scrape('reghook_events_failed_total');
    const failingBefore = await scrape('reghook_endpoints_failing');
    const { appId } = await project(500);
    const created = clock.now();
    const ids = [await register(appId), await register(appId), await register(appId)];
    for (const id of ids) await attempted(appId, id, 1);
    expect(await scrape('reghook_endpoints_failing')).toBe(failingBefore + 1);
    clock.advance(30 * 60_000);
    // Retries included: every event of this project waits for its retry, the oldest created 30 min ago.
    expect(await scrape('reghook_queue_oldest_pending_age_seconds')).toBeGreaterThanOrEqual((clock.now() - created) / 1000);
    // MAX_ATTEMPTS=3: two hours on, each has used its last attempt.
    for (let i = 2; i <= 3; i++) {
      clock.advance(HOUR);
      for (const id of ids) await attempted(appId, id, i);
    }
    // (Earlier tests' failing events may use their last attempts in these hours too; the store contract counts exactly.)
    await eventually(async () => ((await scrape('reghook_events_failed_total')) >= failedBefore + 3 ? true : undefined));
    for (const id of ids) expect((await event(appId, id)).status).toBe('failed');
    await svc.call('PUT', `/v1/projects/${appId}/webhook`, { url: receivers.at(-1)!.url, enabled: false });
    expect(await scrape('reghook_endpoints_failing')).toBe(failingBefore);
  });
});

describe.each(backends)('REGHOOK_FAILING_AFTER (%s)', (backend) => {
  it('one failed scheduled attempt is enough with REGHOOK_FAILING_AFTER=1', async () => {
    const svc = await startTestService({ REGHOOK_FAILING_AFTER: '1', REGHOOK_RETRY_INTERVAL: '1h' }, undefined, backend);
    const receiver = await startReceiver(answer(500));
    try {
      await svc.createProject(1);
      await svc.setEndpoint(1, receiver.url);
      const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1 }));
      await receiver.waitFor(1);
      const webhook = await eventually(async () => {
        const w = (await svc.call('GET', '/v1/projects/1')).json.webhook;
        return w.consecutiveFailures === 1 ? w : undefined;
      });
      expect(res.status).toBe(202);
      expect(webhook.health).toBe('failing');
    } finally {
      await receiver.close();
      await svc.stop();
    }
  });
});

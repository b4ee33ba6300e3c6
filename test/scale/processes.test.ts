/**
 * Scale-out on PostgreSQL with real processes (SPEC section 8): one `reghook serve` (API only) and
 * `reghook worker`s sharing one fresh schema, delivering to a loopback receiver. Needs the build
 * (`npm run build`; `npm test` builds first).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, startCountingReceiver, waitUntil, type CountingReceiver } from './cluster.js';
import { holdServerLock, LOCK_WAIT_MS, postgresForTests } from '../store/postgres-database.js';

const postgres = await postgresForTests('scale-out processes');
const EVENTS = 5_000;

describe.skipIf(!postgres.run && postgres.failure === null)('reghook serve + reghook workers on PostgreSQL', () => {
  let release: () => Promise<void>;
  let cluster: Cluster;
  let receiver: CountingReceiver | null = null;
  let nextAppId = 1;

  beforeAll(async () => {
    if (postgres.failure !== null) throw new Error(postgres.failure);
    release = await holdServerLock('shared');
  }, LOCK_WAIT_MS);
  afterAll(async () => {
    await release?.();
  });
  afterEach(async () => {
    await cluster?.close();
    await receiver?.close();
    receiver = null;
  });

  /** A fresh schema, the API node and a project whose endpoint is a fresh receiver. */
  async function start(delayMs = 0, env: Record<string, string> = {}) {
    cluster = new Cluster(env);
    receiver = await startCountingReceiver(delayMs);
    await cluster.startServe();
    const appId = nextAppId++;
    await cluster.createProject(appId, receiver.url);
    return { appId, receiver };
  }

  it('an idle worker starts a delivery reported to another process at once (NOTIFY), not at its next poll', async () => {
    const { appId, receiver } = await start();
    await cluster.startWorker();
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Let the worker go idle (it polls at most once per second when idle).
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = Date.now();
      const [eventId] = await cluster.ingest(appId, 1, 1);
      await waitUntil(() => receiver.counts.has(eventId!), 5_000, () => `event ${i} not delivered`);
      latencies.push(receiver.firstSeen.get(eventId!)! - before);
    }
    // Without the notification each would wait for a poll: up to 1 s, 0.5 s on average.
    expect(Math.max(...latencies)).toBeLessThan(500);
  });

  it(`serve + two workers deliver ${EVENTS.toLocaleString('en')} events: every one, none twice`, async () => {
    const { appId, receiver } = await start();
    await cluster.startWorker();
    await cluster.startWorker();
    const t0 = Date.now();
    const ids = await cluster.ingest(appId, EVENTS);
    const ingestedAt = Date.now();
    await waitUntil(() => receiver.counts.size >= EVENTS, 45_000, () => `${receiver.counts.size} of ${EVENTS} delivered`);
    const doneAt = Date.now();
    expect(new Set(receiver.counts.keys())).toEqual(new Set(ids));
    expect(receiver.duplicates()).toEqual([]);
    expect(receiver.total()).toBe(EVENTS);
    await waitUntil(async () => (await cluster.eventCounts()).delivered === EVENTS, 10_000, () => 'not all recorded as delivered');
    console.log(
      `[scale] ${EVENTS} events, ingest (HTTP, 32 at a time) + delivery by 2 workers concurrently: ingest ${Math.round(EVENTS / ((ingestedAt - t0) / 1000))}/s, ` +
        `all delivered ${doneAt - t0} ms after the first report (${doneAt - ingestedAt} ms after the last)`,
    );
  }, 90_000);

  it('delivery rate of a backlog: one worker, then two', async () => {
    const { appId, receiver } = await start();
    const backlog = 6_000;
    await cluster.ingest(appId, backlog);
    const first = await cluster.startWorker();
    const t1 = Date.now();
    await waitUntil(() => receiver.counts.size >= backlog / 2, 45_000, () => `${receiver.counts.size} delivered by one worker`);
    await cluster.startWorker();
    const t2 = Date.now();
    const atSecond = receiver.counts.size;
    await waitUntil(() => receiver.counts.size >= backlog, 45_000, () => `${receiver.counts.size} of ${backlog} delivered`);
    const t3 = Date.now();
    const oneWorker = Math.round((atSecond / (t2 - t1)) * 1000);
    const twoWorkers = Math.round(((backlog - atSecond) / (t3 - t2)) * 1000);
    console.log(`[scale] backlog of ${backlog}: 1 worker ${oneWorker} deliveries/s, 2 workers ${twoWorkers} deliveries/s`);
    expect(receiver.duplicates()).toEqual([]);
    expect(first.child.exitCode).toBeNull();
  }, 90_000);

  it("rateLimitPerSecond holds for the deployment: two workers together send a capped endpoint's backlog at its rate", async () => {
    const { appId, receiver } = await start();
    const perSecond = 5;
    const capped = await cluster.api('PUT', `/v1/projects/${appId}/webhook`, { url: receiver.url, rateLimitPerSecond: perSecond });
    expect(capped.json.rateLimitPerSecond).toBe(perSecond);
    const backlog = 20;
    await cluster.ingest(appId, backlog, 4);
    // Both start at once, so each could pace alone at the full rate if the pace were its own.
    await Promise.all([cluster.startWorker(), cluster.startWorker()]);
    await waitUntil(() => receiver.counts.size >= backlog, 20_000, () => `${receiver.counts.size} of ${backlog} delivered`);
    const times = [...receiver.firstSeen.values()].sort((a, b) => a - b);
    const densest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    // At most rate + 1 in any second (a few ms of scheduling slack at the ends), so the backlog takes (n - 1) / rate.
    expect(densest).toBeLessThanOrEqual(perSecond + 1);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((backlog - 1) * 1000) / perSecond - 50);
    expect(receiver.duplicates()).toEqual([]);
  }, 60_000);

  /** The kill test's REGHOOK_CONCURRENCY: above the endpoint's window (64), so it leaves room for attempts waiting to be recorded. */
  const HELD = 160;

  it('kill -9 of one worker mid-run: every event is still delivered, duplicates only for its attempts in flight', async () => {
    // A receiver that takes a few milliseconds, so the killed worker has attempts in flight.
    const { appId, receiver } = await start(5, { REGHOOK_CONCURRENCY: String(HELD) });
    const ids = await cluster.ingest(appId, EVENTS);
    const victim = await cluster.startWorker();
    await cluster.startWorker();
    await waitUntil(() => receiver.counts.size >= EVENTS / 3, 30_000, () => `${receiver.counts.size} delivered before the kill`);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const atKill = receiver.counts.size;
    expect(atKill).toBeLessThan(EVENTS);
    // Its leases run out (2 × 1 s + 5 s) and the other worker takes them over.
    await waitUntil(() => receiver.counts.size >= EVENTS, 45_000, () => `${receiver.counts.size} of ${EVENTS} delivered after the kill`);
    await waitUntil(async () => (await cluster.eventCounts()).delivered === EVENTS, 15_000, async () => JSON.stringify(await cluster.eventCounts()));
    expect(new Set(receiver.counts.keys())).toEqual(new Set(ids));
    // Every attempt the survivor made is recorded; the only unfinished ones are the victim's,
    // in flight (or finished but not yet recorded) when it died. Only those can repeat.
    const unfinished = await cluster.sql<{ event_id: string }>('SELECT event_id FROM attempts WHERE NOT finished');
    const inFlightAtKill = new Set(unfinished.map((r) => r.event_id));
    const duplicates = receiver.duplicates();
    for (const id of duplicates) expect(inFlightAtKill.has(id), `${id} delivered twice but was not in flight at the kill`).toBe(true);
    for (const id of duplicates) expect(receiver.counts.get(id)).toBe(2);
    // An attempt holds its slot in REGHOOK_CONCURRENCY until its outcome is committed: the victim
    // had at most that many unrecorded.
    expect(inFlightAtKill.size).toBeLessThanOrEqual(HELD);
    console.log(`[scale] kill -9 at ${atKill}/${EVENTS} delivered: ${inFlightAtKill.size} attempts in flight lost, ${duplicates.length} delivered twice`);
  }, 90_000);
});

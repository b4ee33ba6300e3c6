/**
 * One-off measurement (not part of `npm run bench`): what the SQLite store alone sustains, without
 * HTTP. Each turn records 32 registrations, claims what is due and records the previous turn's
 * claims as delivered (200), the way the dispatcher drives the store under P2. Run against the
 * store on this thread and through the store thread (threaded-store.ts), side by side, alternating,
 * `--rounds` times each; the figure is events per second and µs per event, each run and the median.
 * This is the ceiling of the store thread: with it, HTTP runs on another core, so reghook SQLite
 * cannot deliver faster than this.
 *
 *   npm run build --silent && node dist/bench/store-loop.js [--events=20000] [--rounds=3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newEventId } from '../src/domain/ids.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { openThreadedSqliteStore } from '../src/store/sqlite/threaded-store.js';
import type { FinishedAttempt, Store } from '../src/store/store.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const EVENTS = arg('events', 20_000);
const ROUNDS = arg('rounds', 3);
const PER_TURN = 32;
const BODY = JSON.stringify({
  type: 'user.registered',
  data: { subscriberId: '905555555555', subscriberName: 'n'.repeat(40), clientIp: '203.0.113.7', registerDate: '2026-01-01T00:00:00Z' },
});

async function drive(store: Store): Promise<number> {
  await store.migrate();
  await store.createProject({ appId: 1, name: 'p', createdAt: Date.now() });
  await store.putEndpoint(1, 'https://hooks.example/1', true, 'sealed', Date.now());
  const start = performance.now();
  let reported = 0;
  let delivered = 0;
  let finished: FinishedAttempt[] = [];
  while (delivered < EVENTS) {
    const now = Date.now();
    const reports: Promise<unknown>[] = [];
    for (let i = 0; i < PER_TURN && reported < EVENTS; i++, reported++) {
      const reg = { appId: 1, clientUuid: `c${reported}`, storeRegister: false, subscriberId: `s${reported}`, body: BODY, subscriberHash: `h${reported}` };
      reports.push(store.recordRegistration(reg, newEventId(now), now));
    }
    const recording = finished.length > 0 ? store.recordAttempts(finished, now) : null;
    delivered += finished.length;
    const claiming = store.claimDue({ now, limit: 100, leaseMs: 25_000, maxAttempts: 10, perEndpointLimit: 64, windows: {}, inFlight: {}, excludeAppIds: [] });
    await Promise.all(reports);
    await recording;
    finished = (await claiming).map((c) => ({
      attemptId: c.attemptId,
      eventId: c.eventId,
      outcome: { success: true, statusCode: 200, errorKind: null, durationMs: 2, responseBody: 'ok' },
      next: { status: 'delivered' },
    }));
  }
  return performance.now() - start;
}

async function once(kind: 'this thread' | 'store thread'): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'reghook-store-loop-'));
  const file = path.join(dir, 'reghook.db');
  const store = kind === 'this thread' ? new SqliteStore(file) : await openThreadedSqliteStore(file);
  try {
    return await drive(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, number[]> = { 'this thread': [], 'store thread': [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of ['this thread', 'store thread'] as const) {
    const ms = await once(kind);
    results[kind]!.push(ms);
    process.stdout.write(`${kind.padEnd(12)}  ${EVENTS} events: ${Math.round((EVENTS / ms) * 1000)}/s, ${((ms / EVENTS) * 1000).toFixed(1)} µs per event\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [kind, runs] of Object.entries(results)) {
  const ms = median(runs);
  process.stdout.write(`median ${kind}: ${Math.round((EVENTS / ms) * 1000)}/s, ${((ms / EVENTS) * 1000).toFixed(1)} µs per event\n`);
}

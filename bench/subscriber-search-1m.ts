/**
 * One-off measurement (not part of `npm run bench`): the delivery log searched by subscriberId at
 * 1M events. Fills a fresh store with one project of 1,000,000 events carrying a subscriber hash
 * (400,000 subscribers: 2-3 events each) plus 100,000 older events without one (from before
 * migration 0007, with a payload), then times store.listEvents by subscriberHash (median of 51):
 * a hit, a miss, combined with status and a cursor, and the other lookups (eventId, clientUuid,
 * status, the first page); prints the plans; and times one backfill pass
 * of the retention sweeper (BACKFILL_PER_SWEEP events). (The fill's ids do not carry their creation
 * time as real ones do, so since/until, which are id ranges on the same index, are not timed here.)
 *
 *   npm run build --silent && node dist/bench/subscriber-search-1m.js [--no-pg] [--events=1000000]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { BACKFILL_PER_SWEEP, RetentionSweeper } from '../src/maintenance/retention.js';
import { createSubscriberIndex } from '../src/secrets/subscriber-index.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { EventFilter, Store } from '../src/store/store.js';

const EVENTS = Number(process.argv.find((a) => a.startsWith('--events='))?.slice(9) ?? 1_000_000);
const OLD = 100_000;
const SUBSCRIBERS = 400_000;
const PG_URL = process.env.REGHOOK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DAY = 86_400_000;
const NOW = Date.UTC(2024, 5, 1, 12, 34, 56, 789);
const STEP = Math.floor((30 * DAY) / (EVENTS + OLD));
/** The hash of subscriber n as the fill writes it (22 characters, like the real base64url ones). */
const hashOf = (n: number) => String(n).padStart(22, '0');
// Ids are 'evt_' + 10 digits, in creation order: the old events first.
const idOf = (i: number) => `evt_${String(i).padStart(10, '0')}`;

const CASES: [string, EventFilter & { cursor?: string }][] = [
  ['hit (3 events)', { subscriberHash: hashOf(123) }],
  ['miss', { subscriberHash: hashOf(SUBSCRIBERS + 1) }],
  ['hit + status=delivered', { subscriberHash: hashOf(123), status: 'delivered' }],
  ['hit + cursor', { subscriberHash: hashOf(123), cursor: idOf(OLD + 123 + 2 * SUBSCRIBERS) }],
  // The log's other lookups at the same size.
  ['eventId', { eventId: idOf(OLD + 500_000) }],
  ['clientUuid', { clientUuid: `u${OLD + 500_000}` }],
  ['status=failed (first page)', { status: 'failed' }],
  ['all (first page)', {}],
];

async function time(store: Store): Promise<void> {
  for (const [name, filter] of CASES) {
    const runs: number[] = [];
    let found = 0;
    for (let i = 0; i < 51; i++) {
      const t = process.hrtime.bigint();
      found = (await store.listEvents(1, { limit: 50, ...filter })).data.length;
      runs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    runs.sort((a, b) => a - b);
    console.log(`  ${name.padEnd(28)} median ${runs[25]!.toFixed(3)} ms, p90 ${runs[45]!.toFixed(3)} ms (${found} found)`);
  }
}

async function backfill(store: Store): Promise<void> {
  const sweeper = new RetentionSweeper(store, { now: () => NOW }, 1_000 * DAY, 1_000 * DAY, pino({ level: 'silent' }), createSubscriberIndex(randomBytes(32)));
  const t = Date.now();
  const n = await sweeper.backfillSubscriberHashes();
  console.log(`  backfill: ${n} of ${BACKFILL_PER_SWEEP} per sweep in ${Date.now() - t} ms; ${(await store.listUnhashedEvents(OLD)).length} old events left`);
}

async function sqlite(): Promise<void> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reghook-search-')), 'search.db');
  const store = new SqliteStore(file);
  await store.createProject({ appId: 1, name: 'big', createdAt: NOW - 31 * DAY });
  const db = new Database(file);
  const t = Date.now();
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${EVENTS + OLD - 1})
    INSERT INTO events (id, app_id, client_uuid, subscriber_hash, body, status, attempt_count, scheduled_attempts, created_at, finished_at)
    SELECT printf('evt_%010d', i), 1, printf('u%d', i),
           CASE WHEN i >= ${OLD} THEN printf('%022d', (i - ${OLD}) % ${SUBSCRIBERS}) END,
           CASE WHEN i < ${OLD} THEN printf('{"subscriberId":"s%d"}', i) ELSE '{}' END,
           CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'delivered' END, 1, 1,
           ${NOW} - ${30 * DAY} + i * ${STEP}, ${NOW} FROM n;`);
  db.exec('ANALYZE');
  console.log(`sqlite: filled ${EVENTS} + ${OLD} events in ${((Date.now() - t) / 1000).toFixed(1)} s; listEvents by subscriberHash (limit 50):`);
  await time(store);
  const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
  console.log('  plan (hit):   ', plan(`SELECT e.* FROM events e WHERE e.app_id = 1 AND e.subscriber_hash = '${hashOf(123)}' ORDER BY e.id DESC LIMIT 51`));
  console.log('  plan (status):', plan(`SELECT e.* FROM events e WHERE e.app_id = 1 AND e.status = 'delivered' AND e.subscriber_hash = '${hashOf(123)}' ORDER BY e.id DESC LIMIT 51`));
  console.log('  plan (backfill):', plan(`SELECT id, app_id, body FROM events WHERE subscriber_hash IS NULL AND body IS NOT NULL AND id > '' ORDER BY id LIMIT 1000`));
  await backfill(store);
  db.close();
  await store.close();
}

async function postgres(): Promise<void> {
  const schema = `reghook_search_bench_${process.pid}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const store = await PostgresStore.open(url.toString());
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path = ${schema}`);
    await store.createProject({ appId: 1, name: 'big', createdAt: NOW - 31 * DAY });
    const t = Date.now();
    await client.query(`
      INSERT INTO events (id, app_id, client_uuid, subscriber_hash, body, status, attempt_count, scheduled_attempts, created_at, finished_at)
      SELECT 'evt_' || lpad(i::text, 10, '0'), 1, 'u' || i,
             CASE WHEN i >= ${OLD} THEN lpad(((i - ${OLD}) % ${SUBSCRIBERS})::text, 22, '0') END,
             CASE WHEN i < ${OLD} THEN '{"subscriberId":"s' || i || '"}' ELSE '{}' END,
             CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'delivered' END, 1, 1,
             ${NOW}::bigint - ${30 * DAY} + i::bigint * ${STEP}, ${NOW}
      FROM generate_series(0, ${EVENTS + OLD - 1}) i`);
    await client.query('VACUUM ANALYZE');
    console.log(`postgres: filled ${EVENTS} + ${OLD} events in ${((Date.now() - t) / 1000).toFixed(1)} s; listEvents by subscriberHash (limit 50):`);
    await time(store);
    const explain = async (sql: string, values: unknown[]) =>
      (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${sql}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n    ');
    console.log('  plan (hit):\n    ' + (await explain(`SELECT e.* FROM events e WHERE e.app_id = 1 AND e.subscriber_hash = $1 ORDER BY e.id DESC LIMIT 51`, [hashOf(123)])));
    console.log('  plan (status):\n    ' + (await explain(`SELECT e.* FROM events e WHERE e.app_id = 1 AND e.status = 'delivered' AND e.subscriber_hash = $1 ORDER BY e.id DESC LIMIT 51`, [hashOf(123)])));
    console.log('  plan (backfill):\n    ' + (await explain(`SELECT id, app_id, body FROM events WHERE subscriber_hash IS NULL AND body IS NOT NULL AND id > '' ORDER BY id LIMIT 1000`, [])));
    await backfill(store);
  } finally {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
    await store.close();
  }
}

await sqlite();
if (!process.argv.includes('--no-pg')) await postgres();

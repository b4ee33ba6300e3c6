/**
 * One-off measurement (not part of `npm run bench`): GET …/webhook/stats at 1M events. Fills a
 * fresh store with one project holding 1,000,000 events over the last 30 days (each with one
 * finished attempt, 5 % failed, 20-919 ms), filling the rollups as migration 0005 does (events by
 * its triggers, attempts and latency with its backfill statements), then times windowCounts for
 * each window on both stores (median of 21) and prints the plans of its statements.
 *
 *   npm run build --silent && node dist/bench/stats-1m.js [--no-pg] [--events=1000000]
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { packageRoot } from '../src/package-info.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const EVENTS = Number(process.argv.find((a) => a.startsWith('--events='))?.slice(9) ?? 1_000_000);
const PG_URL = process.env.REGHOOK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DAY = 86_400_000;
const NOW = Date.UTC(2024, 5, 1, 12, 34, 56, 789);
const WINDOWS = { '1h': 3_600_000, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY } as const;

/** The backfill statements of migration 0005 that fill the attempt and latency rollups. */
function backfill(kind: 'sqlite' | 'postgres'): string {
  const sql = readFileSync(path.join(packageRoot, 'migrations', kind, '0005_endpoint_health.sql'), 'utf8');
  const from = sql.indexOf('INSERT INTO attempt_stats_hourly');
  return sql.slice(from, sql.indexOf('-- Health from the scheduled attempts'));
}

async function time(store: Store): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [window, ms] of Object.entries(WINDOWS)) {
    const runs: number[] = [];
    let counts;
    for (let i = 0; i < 21; i++) {
      const t = process.hrtime.bigint();
      counts = await store.windowCounts(1, NOW - ms, NOW);
      runs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    runs.sort((a, b) => a - b);
    out[window] = `${runs[10]!.toFixed(2)} ms (events ${Object.values(counts!.events).reduce((a, b) => a + b, 0)}, attempts ${counts!.attempts.succeeded + counts!.attempts.failed}, ${counts!.latency.size} buckets)`;
  }
  return out;
}

async function sqlite(): Promise<void> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reghook-stats-')), 'stats.db');
  const store = new SqliteStore(file);
  await store.createProject({ appId: 1, name: 'big', createdAt: NOW - 31 * DAY });
  await store.putEndpoint(1, 'https://hooks.example/', true, 'sealed', NOW - 31 * DAY);
  const db = new Database(file);
  let t = Date.now();
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${EVENTS - 1})
    INSERT INTO events (id, app_id, client_uuid, body, status, attempt_count, scheduled_attempts, created_at, delivered_at, finished_at)
    SELECT printf('evt_%010d', i), 1, printf('u%d', i), '{}', CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'delivered' END, 1, 1,
           ${NOW} - ${30 * DAY} + i * ${Math.floor((30 * DAY) / EVENTS)}, NULL, NULL FROM n;
    INSERT INTO attempts (event_id, app_id, number, trigger, started_at, finished, success, status_code, duration_ms)
    SELECT id, 1, 1, 'scheduled', created_at + 10, 1, status = 'delivered', CASE WHEN status = 'delivered' THEN 200 ELSE 500 END,
           20 + (abs(random()) % 900) FROM events;`);
  db.exec(backfill('sqlite'));
  db.exec('ANALYZE');
  console.log(`sqlite: filled ${EVENTS} events and attempts in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  console.log('sqlite windowCounts (median of 21):', await time(store));
  // Rollups over the 30 days; the rows over an edge hour, as windowCounts reads them.
  const plan = (sql: string, from = NOW - 30 * DAY) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ appId: 1, from, to: NOW }) as { detail: string }[]).map((r) => r.detail).join(' | ');
  console.log('sqlite plans:');
  console.log('  event rollup:  ', plan('SELECT SUM(pending) FROM event_stats_hourly WHERE app_id = @appId AND hour >= @from AND hour < @to'));
  console.log('  latency rollup:', plan('SELECT bucket, SUM(count) FROM latency_hourly WHERE app_id = @appId AND hour >= @from AND hour < @to GROUP BY bucket'));
  const stats = readFileSync(path.join(packageRoot, 'src/store/sqlite/stats.ts'), 'utf8');
  const statement = (name: string) => /`([^`]*)`/.exec(stats.slice(stats.indexOf(`const ${name} =`)))![1]!;
  console.log('  raw events:    ', plan(statement('RAW_EVENTS'), NOW - 3_600_000));
  console.log('  raw attempts:  ', plan(statement('RAW_ATTEMPTS'), NOW - 3_600_000));
  const scan = Date.now();
  db.prepare(`SELECT status, COUNT(*) FROM events WHERE app_id = 1 AND created_at >= ? GROUP BY status`).all(NOW - 30 * DAY);
  console.log(`sqlite: the same 30d event count from the rows instead (no rollup): ${Date.now() - scan} ms`);
  db.close();
  await store.close();
}

async function postgres(): Promise<void> {
  const schema = `reghook_stats_bench_${process.pid}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const store = await PostgresStore.open(url.toString());
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path = ${schema}`);
    await store.createProject({ appId: 1, name: 'big', createdAt: NOW - 31 * DAY });
    await store.putEndpoint(1, 'https://hooks.example/', true, 'sealed', NOW - 31 * DAY);
    const t = Date.now();
    await client.query(`
      INSERT INTO events (id, app_id, client_uuid, body, status, attempt_count, scheduled_attempts, created_at)
      SELECT 'evt_' || lpad(i::text, 10, '0'), 1, 'u' || i, '{}', CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'delivered' END, 1, 1,
             ${NOW}::bigint - ${30 * DAY} + i::bigint * ${Math.floor((30 * DAY) / EVENTS)}
      FROM generate_series(0, ${EVENTS - 1}) i`);
    await client.query(`
      INSERT INTO attempts (event_id, app_id, number, trigger, started_at, finished, success, status_code, duration_ms)
      SELECT id, 1, 1, 'scheduled', created_at + 10, true, status = 'delivered', CASE WHEN status = 'delivered' THEN 200 ELSE 500 END,
             20 + floor(random() * 900)::int FROM events`);
    await client.query(backfill('postgres'));
    await client.query('VACUUM ANALYZE');
    console.log(`postgres: filled ${EVENTS} events and attempts in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    console.log('postgres windowCounts (median of 21):', await time(store));
    const explain = async (sql: string, values: unknown[]) =>
      (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${sql}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n    ');
    console.log('postgres plans (30d):');
    console.log('  rollups:\n    ' + (await explain(`SELECT sum(pending) FROM event_stats_hourly WHERE app_id = 1 AND hour >= $1 AND hour < $2`, [NOW - 30 * DAY, NOW])));
    console.log('  latency:\n    ' + (await explain(`SELECT bucket, sum(count) FROM latency_hourly WHERE app_id = 1 AND hour >= $1 AND hour < $2 GROUP BY bucket`, [NOW - 30 * DAY, NOW])));
    console.log('  raw events (edge hour):\n    ' + (await explain(`SELECT status, count(*) FROM events WHERE app_id = 1 AND created_at >= $1 AND created_at < $2 GROUP BY status`, [NOW - 3_600_000, NOW])));
    console.log('  raw attempts (edge hour):\n    ' + (await explain(`SELECT success, duration_ms, count(*) FROM attempts WHERE app_id = 1 AND started_at >= $1 AND started_at < $2 AND finished GROUP BY 1, 2`, [NOW - 3_600_000, NOW])));
    const scan = Date.now();
    await client.query(`SELECT status, count(*) FROM events WHERE app_id = 1 AND created_at >= $1 GROUP BY status`, [NOW - 30 * DAY]);
    console.log(`postgres: the same 30d event count from the rows instead (no rollup): ${Date.now() - scan} ms`);
  } finally {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
    await store.close();
  }
}

await sqlite();
if (!process.argv.includes('--no-pg')) await postgres();

/** Figures for metrics, the stats and the dashboard (PostgreSQL): the queue, failing endpoints, one window's counts, finished attempts over time. */
import type pg from 'pg';
import type { Logger } from 'pino';
import { addRawAttempts, chartBucketsOf, windowPlan, type ChartRow } from '../recording.js';
import type { AttemptBucket, ChartBucket, QueueStats, WindowCounts } from '../store.js';
import { inTransaction } from './connection.js';

// One pass over the pending rows for the queue figures; leased rows are in flight, not due. The
// oldest pending event is one step of events_pending_by_age, and the failing endpoints a walk of
// endpoint_health_failing (only failing ones are in it); a disabled endpoint is not attempted, so
// it is left out (its alert would never resolve).
const QUEUE_STATS = {
  name: 'queue_stats',
  text: `
SELECT count(*) FILTER (WHERE next_attempt_at <= $1 AND lease_token IS NULL) AS due,
       min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1 AND lease_token IS NULL) AS oldest,
       count(*) AS pending,
       (SELECT min(created_at) FROM events WHERE status = 'pending') AS oldest_pending,
       (SELECT count(*) FROM endpoint_health h JOIN endpoints p ON p.app_id = h.app_id
        WHERE h.failing_since IS NOT NULL AND p.enabled) AS failing
FROM events WHERE status = 'pending'`,
};

// The whole hours of a window: at most 720 rows (30 days) of each rollup, by primary key range;
// one statement, one snapshot. $1 app, $2 from, $3 to.
const ROLLUP_WINDOW = {
  name: 'rollup_window',
  text: `
SELECT 'events' AS part, NULL::int AS bucket,
       coalesce(sum(pending), 0)::bigint AS a, coalesce(sum(delivered), 0)::bigint AS b,
       coalesce(sum(failed), 0)::bigint AS c, coalesce(sum(skipped), 0)::bigint AS d
FROM event_stats_hourly WHERE app_id = $1 AND hour >= $2 AND hour < $3
UNION ALL
SELECT 'attempts', NULL, coalesce(sum(succeeded), 0), coalesce(sum(failed), 0), 0, 0
FROM attempt_stats_hourly WHERE app_id = $1 AND hour >= $2 AND hour < $3
UNION ALL
SELECT 'latency', bucket, sum(count), 0, 0, 0
FROM latency_hourly WHERE app_id = $1 AND hour >= $2 AND hour < $3 GROUP BY bucket`,
};

// The partial hours at the window's ends, from the rows: events_by_created (app_id, created_at)
// and attempts_by_time (app_id, started_at) give the ranges; at most two hours of rows.
const RAW_EVENTS = {
  name: 'raw_window_events',
  text: `SELECT status, count(*) AS n FROM events WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status`,
};
const RAW_ATTEMPTS = {
  name: 'raw_window_attempts',
  text: `
SELECT success, duration_ms AS duration, count(*) AS n FROM attempts
WHERE app_id = $1 AND started_at >= $2 AND started_at < $3 AND finished
GROUP BY success, duration_ms`,
};

// The chart: every bucket's events by status and latency histogram in one statement (one
// snapshot), by primary key range of the two rollups (24 or 168 hours of rows). Integer division
// of the hour's offset makes the bucket (the ::bigint casts keep it integral).
// $1 app, $2 since, $3 bucket length, $4 until.
const CHART_BUCKETS = {
  name: 'chart_buckets',
  text: `
SELECT 'events' AS part, ((hour - $2::bigint) / $3::bigint)::int AS slot, NULL::int AS bucket,
       sum(pending)::bigint AS a, sum(delivered)::bigint AS b, sum(failed)::bigint AS c, sum(skipped)::bigint AS d
FROM event_stats_hourly WHERE app_id = $1 AND hour >= $2::bigint AND hour < $4::bigint GROUP BY 2
UNION ALL
SELECT 'latency', ((hour - $2::bigint) / $3::bigint)::int, bucket, sum(count)::bigint, 0, 0, 0
FROM latency_hourly WHERE app_id = $1 AND hour >= $2::bigint AND hour < $4::bigint GROUP BY 2, 3`,
};

// Integer division makes the buckets (the ::bigint casts keep it integral); attempts_by_time
// (app_id, started_at) answers the range. Attempts still in flight are not counted.
const ATTEMPT_STATS = {
  name: 'attempt_stats',
  text: `
SELECT (started_at / $3::bigint) * $3::bigint AS bucket,
       count(*) FILTER (WHERE success) AS succeeded,
       count(*) FILTER (WHERE NOT success) AS failed
FROM attempts
WHERE app_id = $1 AND started_at >= $2 AND finished
GROUP BY bucket ORDER BY bucket`,
};

export class Stats {
  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  async queueStats(now: number): Promise<QueueStats> {
    const { rows } = await this.pool.query<{ due: number; oldest: number | null; pending: number; oldest_pending: number | null; failing: number }>({
      ...QUEUE_STATS,
      values: [now],
    });
    const r = rows[0]!;
    return { due: r.due, scheduled: Math.max(0, r.pending - r.due), oldestDueAt: r.oldest, oldestPendingCreatedAt: r.oldest_pending, failingEndpoints: r.failing };
  }

  /** The rollups and the rows in one REPEATABLE READ snapshot, so no write falls between them. */
  windowCounts(appId: number, since: number, now: number): Promise<WindowCounts> {
    const plan = windowPlan(since, now);
    return inTransaction(this.pool, this.logger, async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const counts: WindowCounts = { events: { pending: 0, delivered: 0, failed: 0, skipped: 0 }, attempts: { succeeded: 0, failed: 0 }, latency: new Map() };
      const { events, attempts, latency } = counts;
      if (plan.rollup !== null) {
        const { rows } = await client.query<{ part: string; bucket: number | null; a: number; b: number; c: number; d: number }>({
          ...ROLLUP_WINDOW,
          values: [appId, plan.rollup.from, plan.rollup.to],
        });
        for (const r of rows) {
          if (r.part === 'events') {
            events.pending += r.a;
            events.delivered += r.b;
            events.failed += r.c;
            events.skipped += r.d;
          } else if (r.part === 'attempts') {
            attempts.succeeded += r.a;
            attempts.failed += r.b;
          } else latency.set(r.bucket!, (latency.get(r.bucket!) ?? 0) + r.a);
        }
      }
      for (const raw of plan.raw) {
        const values = [appId, raw.from, raw.to];
        for (const r of (await client.query<{ status: string; n: number }>({ ...RAW_EVENTS, values })).rows) {
          if (r.status in events) events[r.status as keyof typeof events] += r.n;
        }
        addRawAttempts(counts, (await client.query<{ success: boolean; duration: number | null; n: number }>({ ...RAW_ATTEMPTS, values })).rows);
      }
      return counts;
    });
  }

  async chartBuckets(appId: number, since: number, bucketMs: number, count: number): Promise<ChartBucket[]> {
    const { rows } = await this.pool.query<ChartRow>({ ...CHART_BUCKETS, values: [appId, since, bucketMs, since + count * bucketMs] });
    return chartBucketsOf(since, bucketMs, count, rows);
  }

  async attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]> {
    const { rows } = await this.pool.query<{ bucket: number; succeeded: number; failed: number }>({ ...ATTEMPT_STATS, values: [appId, since, bucketMs] });
    return rows.map((r) => ({ start: r.bucket, succeeded: r.succeeded, failed: r.failed }));
  }
}

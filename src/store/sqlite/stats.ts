/** Figures for metrics, the stats and the dashboard (SQLite): the queue, failing endpoints, one window's counts, finished attempts over time. */
import type Database from 'better-sqlite3';
import { addRawAttempts, chartBucketsOf, windowPlan, type ChartRow } from '../recording.js';
import type { AttemptBucket, ChartBucket, QueueStats, WindowCounts } from '../store.js';

// Leased rows are in flight, not due. events_due (next_attempt_at) WHERE status = 'pending'
// answers the range.
const COUNT_DUE = `
SELECT COUNT(*) AS n, MIN(next_attempt_at) AS oldest FROM events
WHERE status = 'pending' AND next_attempt_at <= ? AND lease_token IS NULL`;

const COUNT_PENDING = `SELECT COUNT(*) AS n FROM events WHERE status = 'pending'`;

// One step of events_pending_by_age (migration 0005), however many are pending.
const OLDEST_PENDING = `SELECT MIN(created_at) AS oldest FROM events WHERE status = 'pending'`;

// endpoint_health_failing holds only failing endpoints: the count walks those, not every endpoint.
// A disabled endpoint is not attempted, so it is left out (its alert would never resolve).
const COUNT_FAILING = `
SELECT COUNT(*) AS n FROM endpoint_health h JOIN endpoints p ON p.app_id = h.app_id
WHERE h.failing_since IS NOT NULL AND p.enabled = 1`;

// The whole hours of a window: at most 720 rows (30 days) of each rollup, by primary key range.
const ROLLUP_EVENTS = `
SELECT COALESCE(SUM(pending), 0) AS pending, COALESCE(SUM(delivered), 0) AS delivered,
       COALESCE(SUM(failed), 0) AS failed, COALESCE(SUM(skipped), 0) AS skipped
FROM event_stats_hourly WHERE app_id = @appId AND hour >= @from AND hour < @to`;

const ROLLUP_ATTEMPTS = `
SELECT COALESCE(SUM(succeeded), 0) AS succeeded, COALESCE(SUM(failed), 0) AS failed
FROM attempt_stats_hourly WHERE app_id = @appId AND hour >= @from AND hour < @to`;

const ROLLUP_LATENCY = `
SELECT bucket, SUM(count) AS n FROM latency_hourly
WHERE app_id = @appId AND hour >= @from AND hour < @to GROUP BY bucket`;

// The partial hours at the window's ends, from the rows: events_by_created (app_id, created_at)
// and attempts_by_time (app_id, started_at) give the range; at most two hours of rows. INDEXED BY:
// SQLite plans a statement once, without the values, and for a project's whole history it may
// prefer a covering index on (app_id, status) that walks every event of the project.
const RAW_EVENTS = `
SELECT status, COUNT(*) AS n FROM events INDEXED BY events_by_created
WHERE app_id = @appId AND created_at >= @from AND created_at < @to GROUP BY status`;

const RAW_ATTEMPTS = `
SELECT success, duration_ms AS duration, COUNT(*) AS n FROM attempts INDEXED BY attempts_by_time
WHERE app_id = @appId AND started_at >= @from AND started_at < @to AND finished = 1
GROUP BY success, duration_ms`;

// The chart: every bucket's events by status and latency histogram in one statement (one
// snapshot), by primary key range of the two rollups (24 or 168 hours of rows). Integer division
// of the hour's offset makes the bucket (CAST: a bound number may arrive as a real).
const CHART_BUCKETS = `
SELECT 'events' AS part, CAST((hour - @since) / @bucketMs AS INTEGER) AS slot, NULL AS bucket,
       SUM(pending) AS a, SUM(delivered) AS b, SUM(failed) AS c, SUM(skipped) AS d
FROM event_stats_hourly WHERE app_id = @appId AND hour >= @since AND hour < @until GROUP BY 2
UNION ALL
SELECT 'latency', CAST((hour - @since) / @bucketMs AS INTEGER), bucket, SUM(count), 0, 0, 0
FROM latency_hourly WHERE app_id = @appId AND hour >= @since AND hour < @until GROUP BY 2, 3`;

// Integer division makes the buckets; attempts_by_time (app_id, started_at) answers the range.
// Attempts still in flight (finished = 0) are not counted.
const ATTEMPT_STATS = `
SELECT CAST(started_at / @bucketMs AS INTEGER) * @bucketMs AS bucket,
       SUM(success = 1) AS succeeded, SUM(success = 0) AS failed
FROM attempts
WHERE app_id = @appId AND started_at >= @since AND finished = 1
GROUP BY bucket ORDER BY bucket`;

export class Stats {
  private readonly countDue;
  private readonly countPending;
  private readonly attemptStatsStatement;
  private readonly oldestPending;
  private readonly countFailing;
  private readonly rollupEvents;
  private readonly rollupAttempts;
  private readonly rollupLatency;
  private readonly rawEvents;
  private readonly rawAttempts;
  private readonly windowRead;
  private readonly chartBucketsStatement;

  constructor(db: Database.Database) {
    type Range = { appId: number; from: number; to: number };
    this.oldestPending = db.prepare<[], { oldest: number | null }>(OLDEST_PENDING);
    this.countFailing = db.prepare<[], { n: number }>(COUNT_FAILING);
    this.rollupEvents = db.prepare<Range, { pending: number; delivered: number; failed: number; skipped: number }>(ROLLUP_EVENTS);
    this.rollupAttempts = db.prepare<Range, { succeeded: number; failed: number }>(ROLLUP_ATTEMPTS);
    this.rollupLatency = db.prepare<Range, { bucket: number; n: number }>(ROLLUP_LATENCY);
    this.rawEvents = db.prepare<Range, { status: string; n: number }>(RAW_EVENTS);
    this.rawAttempts = db.prepare<Range, { success: number; duration: number | null; n: number }>(RAW_ATTEMPTS);
    // One read transaction: the rollups and the rows are one snapshot (WAL), so no write falls between them.
    this.windowRead = db.transaction((appId: number, since: number, now: number) => this.readWindow(appId, since, now));
    this.chartBucketsStatement = db.prepare<{ appId: number; since: number; bucketMs: number; until: number }, ChartRow>(CHART_BUCKETS);
    this.countDue = db.prepare<[number], { n: number; oldest: number | null }>(COUNT_DUE);
    this.countPending = db.prepare<[], { n: number }>(COUNT_PENDING);
    this.attemptStatsStatement = db.prepare<Record<string, number>, { bucket: number; succeeded: number; failed: number }>(ATTEMPT_STATS);
  }

  /** Two reads outside a transaction: `scheduled` is clamped at 0 should a write fall between them. */
  queueStats(now: number): QueueStats {
    const due = this.countDue.get(now)!;
    const pending = this.countPending.get()!.n;
    return {
      due: due.n,
      scheduled: Math.max(0, pending - due.n),
      oldestDueAt: due.oldest,
      oldestPendingCreatedAt: this.oldestPending.get()!.oldest,
      failingEndpoints: this.countFailing.get()!.n,
    };
  }

  windowCounts(appId: number, since: number, now: number): WindowCounts {
    return this.windowRead.deferred(appId, since, now);
  }

  private readWindow(appId: number, since: number, now: number): WindowCounts {
    const plan = windowPlan(since, now);
    const counts: WindowCounts = { events: { pending: 0, delivered: 0, failed: 0, skipped: 0 }, attempts: { succeeded: 0, failed: 0 }, latency: new Map() };
    const { events, attempts, latency } = counts;
    if (plan.rollup !== null) {
      const range = { appId, ...plan.rollup };
      const e = this.rollupEvents.get(range)!;
      events.pending += e.pending;
      events.delivered += e.delivered;
      events.failed += e.failed;
      events.skipped += e.skipped;
      const a = this.rollupAttempts.get(range)!;
      attempts.succeeded += a.succeeded;
      attempts.failed += a.failed;
      for (const r of this.rollupLatency.all(range)) latency.set(r.bucket, (latency.get(r.bucket) ?? 0) + r.n);
    }
    for (const raw of plan.raw) {
      const range = { appId, ...raw };
      for (const r of this.rawEvents.all(range)) if (r.status in events) events[r.status as keyof typeof events] += r.n;
      addRawAttempts(counts, this.rawAttempts.all(range).map((r) => ({ success: r.success === 1, duration: r.duration, n: r.n })));
    }
    return counts;
  }

  chartBuckets(appId: number, since: number, bucketMs: number, count: number): ChartBucket[] {
    const rows = this.chartBucketsStatement.all({ appId, since, bucketMs, until: since + count * bucketMs });
    return chartBucketsOf(since, bucketMs, count, rows);
  }

  attemptStats(appId: number, since: number, bucketMs: number): AttemptBucket[] {
    return this.attemptStatsStatement.all({ appId, since, bucketMs }).map((r) => ({ start: r.bucket, succeeded: r.succeeded, failed: r.failed }));
  }
}

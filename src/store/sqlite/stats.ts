/** Figures for metrics and the dashboard (SQLite): the queue, and finished attempts over time. */
import type Database from 'better-sqlite3';
import type { AttemptBucket, QueueStats } from '../store.js';

// Leased rows are in flight, not due. events_due (next_attempt_at) WHERE status = 'pending'
// answers the range.
const COUNT_DUE = `
SELECT COUNT(*) AS n, MIN(next_attempt_at) AS oldest FROM events
WHERE status = 'pending' AND next_attempt_at <= ? AND lease_token IS NULL`;

const COUNT_PENDING = `SELECT COUNT(*) AS n FROM events WHERE status = 'pending'`;

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

  constructor(db: Database.Database) {
    this.countDue = db.prepare<[number], { n: number; oldest: number | null }>(COUNT_DUE);
    this.countPending = db.prepare<[], { n: number }>(COUNT_PENDING);
    this.attemptStatsStatement = db.prepare<Record<string, number>, { bucket: number; succeeded: number; failed: number }>(ATTEMPT_STATS);
  }

  /** Two reads outside a transaction: `scheduled` is clamped at 0 should a write fall between them. */
  queueStats(now: number): QueueStats {
    const due = this.countDue.get(now)!;
    const pending = this.countPending.get()!.n;
    return { due: due.n, scheduled: Math.max(0, pending - due.n), oldestDueAt: due.oldest };
  }

  attemptStats(appId: number, since: number, bucketMs: number): AttemptBucket[] {
    return this.attemptStatsStatement.all({ appId, since, bucketMs }).map((r) => ({ start: r.bucket, succeeded: r.succeeded, failed: r.failed }));
  }
}

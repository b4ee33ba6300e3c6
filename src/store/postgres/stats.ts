/** Figures for metrics and the dashboard (PostgreSQL): the queue, and finished attempts over time. */
import type pg from 'pg';
import type { AttemptBucket, QueueStats } from '../store.js';

// One pass over the pending rows for all three figures; leased rows are in flight, not due.
const QUEUE_STATS = {
  name: 'queue_stats',
  text: `
SELECT count(*) FILTER (WHERE next_attempt_at <= $1 AND lease_token IS NULL) AS due,
       min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1 AND lease_token IS NULL) AS oldest,
       count(*) AS pending
FROM events WHERE status = 'pending'`,
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
  constructor(private readonly pool: pg.Pool) {}

  async queueStats(now: number): Promise<QueueStats> {
    const { rows } = await this.pool.query<{ due: number; oldest: number | null; pending: number }>({ ...QUEUE_STATS, values: [now] });
    const r = rows[0]!;
    return { due: r.due, scheduled: Math.max(0, r.pending - r.due), oldestDueAt: r.oldest };
  }

  async attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]> {
    const { rows } = await this.pool.query<{ bucket: number; succeeded: number; failed: number }>({ ...ATTEMPT_STATS, values: [appId, since, bucketMs] });
    return rows.map((r) => ({ start: r.bucket, succeeded: r.succeeded, failed: r.failed }));
  }
}

/**
 * Records a batch of finished attempts in ONE statement (arrays in, `unnest` to rows), so a
 * dispatcher flushing hundreds of results pays one round trip, not two per attempt. The
 * transaction around it (attempts.ts) first runs LOCK_FOR_RECORD_SQL: it locks the endpoints'
 * health rows and says which attempts are recorded for the first time, so that the health rule
 * and the rollup deltas are computed in TypeScript and written by this same statement.
 *
 * Lock order. The claim locks events (SKIP LOCKED) and then endpoints (the statement-level
 * triggers of migration 0002, in app_id order, then their due hints, 0011); this statement does the same, then the rollup
 * rows (0005's triggers fire after 0002's, by name). The health rows come FIRST, before any
 * event, and only recorders lock them, always all of one batch in one statement in app_id order:
 * so two recorders serialise there per endpoint (that is what keeps consecutiveFailures exact),
 * and no cycle can form: a recorder waiting at the health rows holds nothing anyone else needs,
 * and once past them it waits only for what the claim and ingest already wait for, in their order.
 * (Health as columns of `endpoints` would have to be locked before the events, the claim's
 * reverse order: a claim taking over an expired lease would deadlock with its late recorder.)
 *
 * Every event must appear at most once per call: two updates of one row inside one statement
 * would not see each other. The store splits a batch that names an event twice into several calls
 * of one transaction, in order.
 *
 * Parameters: $1..$9 parallel arrays (one element per attempt), $10 now; $11..$16 the new health
 * rows; $17..$20 attempt rollup deltas; $21..$24 latency rollup deltas (each in key order).
 * Answers how many events this statement failed (used their last attempt, fenced), and which.
 */
import type { HealthState } from '../../domain/endpoint-health.js';
import type { AttemptRollupRow, LatencyRollupRow } from '../recording.js';
import type { FinishedAttempt } from '../store.js';

/**
 * $1 attempt ids. Which of them are recorded for the first time (finished is still false), whose
 * they are and when they started; and, locked FOR UPDATE in app_id order, the health of the
 * endpoints that have a scheduled one among them. Under READ COMMITTED a row another recorder
 * changed meanwhile is read in its committed version once its lock is granted: the fold starts
 * from the latest state.
 */
export const LOCK_FOR_RECORD_SQL = `
WITH a AS MATERIALIZED (
  SELECT id, app_id, trigger, started_at FROM attempts WHERE id = ANY ($1::bigint[]) AND NOT finished
),
h AS MATERIALIZED (
  SELECT h.app_id, h.consecutive_failures, h.streak_started_at, h.failing_since, h.last_success_at, h.last_failure_at
  FROM endpoint_health h
  WHERE h.app_id IN (SELECT app_id FROM a WHERE trigger = 'scheduled')
  ORDER BY h.app_id
  FOR UPDATE
)
SELECT a.id AS attempt_id, a.app_id, a.trigger, a.started_at,
       h.consecutive_failures, h.streak_started_at, h.failing_since, h.last_success_at, h.last_failure_at
FROM a LEFT JOIN h ON h.app_id = a.app_id`;

export const RECORD_ATTEMPTS_SQL = `
WITH f AS (
  SELECT *
  FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::int[], $5::text[], $6::int[], $7::text[],
              $8::text[], $9::bigint[])
       AS f(attempt_id, event_id, success, status_code, error_kind, duration_ms, response_body,
            next_status, next_attempt_at)
),
finished AS (
  UPDATE attempts a
  SET finished = true, success = f.success, status_code = f.status_code, error_kind = f.error_kind,
      duration_ms = f.duration_ms, response_body = f.response_body
  FROM f
  WHERE a.id = f.attempt_id
),
settled AS (
  -- Fenced: only the holder of the current lease may move the event on. A stale attempt (its
  -- lease ran out and another process claimed the event again) is recorded above, nothing more.
  UPDATE events e
  SET status = f.next_status,
      next_attempt_at = f.next_attempt_at,
      lease_token = NULL,
      delivered_at = CASE WHEN f.next_status = 'delivered' THEN $10::bigint ELSE e.delivered_at END,
      finished_at = CASE WHEN f.next_status IN ('delivered', 'failed') THEN $10::bigint END
  FROM f
  WHERE f.next_status IS NOT NULL
    AND e.id = f.event_id AND e.lease_token = f.attempt_id AND e.status = 'pending'
  RETURNING e.id, e.app_id, e.status, e.attempt_count
),
manual AS (
  -- A manual success delivers the event whatever its state, and voids any lease in flight.
  UPDATE events e
  SET status = 'delivered', next_attempt_at = NULL, lease_token = NULL, delivered_at = $10::bigint,
      finished_at = $10::bigint
  FROM f
  WHERE f.next_status IS NULL AND f.success
    AND e.id = f.event_id AND e.status <> 'delivered'
),
health AS (
  -- Computed from the rows LOCK_FOR_RECORD_SQL locked in this transaction (src/domain/endpoint-health.ts).
  INSERT INTO endpoint_health AS h (app_id, consecutive_failures, streak_started_at, failing_since, last_success_at, last_failure_at)
  SELECT * FROM unnest($11::int[], $12::int[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[])
  ON CONFLICT (app_id) DO UPDATE SET
    consecutive_failures = excluded.consecutive_failures, streak_started_at = excluded.streak_started_at,
    failing_since = excluded.failing_since, last_success_at = excluded.last_success_at, last_failure_at = excluded.last_failure_at
),
attempt_rollup AS (
  INSERT INTO attempt_stats_hourly AS s (app_id, hour, succeeded, failed)
  SELECT * FROM unnest($17::int[], $18::bigint[], $19::int[], $20::int[])
  ON CONFLICT (app_id, hour) DO UPDATE SET succeeded = s.succeeded + excluded.succeeded, failed = s.failed + excluded.failed
),
latency_rollup AS (
  INSERT INTO latency_hourly AS s (app_id, hour, bucket, count)
  SELECT * FROM unnest($21::int[], $22::bigint[], $23::int[], $24::int[])
  ON CONFLICT (app_id, hour, bucket) DO UPDATE SET count = s.count + excluded.count
)
SELECT count(*) FILTER (WHERE status = 'failed')::int AS events_failed,
       coalesce(json_agg(json_build_object('eventId', id, 'appId', app_id, 'attempts', attempt_count)) FILTER (WHERE status = 'failed'), '[]') AS failed
FROM settled`;

/** The events RECORD_ATTEMPTS_SQL failed, for their event.failed notifications. */
export interface FailedRow {
  eventId: string;
  appId: number;
  attempts: number;
}

/** Stores operator notifications (recordAttempts' transaction, after the attempts). */
export const INSERT_OPERATOR_EVENTS_SQL = `
INSERT INTO operator_events (id, type, body, status, next_attempt_at, created_at)
SELECT id, type, body, 'pending', created_at, created_at FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS o(id, type, body, created_at)`;

export const ENDPOINT_URLS_SQL = `SELECT app_id, url FROM endpoints WHERE app_id = ANY ($1::int[])`;

/** Splits a batch, keeping its order, so that no chunk names one event twice. */
export function chunksWithDistinctEvents(finished: readonly FinishedAttempt[]): FinishedAttempt[][] {
  const chunks: FinishedAttempt[][] = [];
  let chunk: FinishedAttempt[] = [];
  let events = new Set<string>();
  for (const f of finished) {
    if (events.has(f.eventId)) {
      chunks.push(chunk);
      chunk = [];
      events = new Set();
    }
    chunk.push(f);
    events.add(f.eventId);
  }
  chunks.push(chunk);
  return chunks;
}

/** The parallel arrays RECORD_ATTEMPTS_SQL unnests, in its parameter order. */
export function attemptArrays(chunk: readonly FinishedAttempt[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
  for (const f of chunk) {
    const o = f.outcome;
    const values = [
      f.attemptId,
      f.eventId,
      o.success,
      o.statusCode,
      o.errorKind,
      Math.round(o.durationMs),
      o.responseBody,
      f.next?.status ?? null,
      f.next?.status === 'pending' ? f.next.nextAttemptAt : null,
    ];
    values.forEach((value, i) => columns[i]!.push(value));
  }
  return columns;
}

/** The arrays of RECORD_ATTEMPTS_SQL after the attempts' ($11..$24): health rows, then the rollup deltas. */
export function derivedArrays(
  health: ReadonlyMap<number, HealthState>,
  rollups: { attempts: readonly AttemptRollupRow[]; latency: readonly LatencyRollupRow[] },
): unknown[][] {
  const apps = [...health.keys()].sort((a, b) => a - b);
  const h = apps.map((appId) => health.get(appId)!);
  return [
    apps,
    h.map((s) => s.consecutiveFailures),
    h.map((s) => s.streakStartedAt),
    h.map((s) => s.failingSince),
    h.map((s) => s.lastSuccessAt),
    h.map((s) => s.lastFailureAt),
    rollups.attempts.map((r) => r.appId),
    rollups.attempts.map((r) => r.hour),
    rollups.attempts.map((r) => r.succeeded),
    rollups.attempts.map((r) => r.failed),
    rollups.latency.map((r) => r.appId),
    rollups.latency.map((r) => r.hour),
    rollups.latency.map((r) => r.bucket),
    rollups.latency.map((r) => r.count),
  ];
}

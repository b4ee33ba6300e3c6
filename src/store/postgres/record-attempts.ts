/**
 * Records a batch of finished attempts in ONE statement (arrays in, `unnest` to rows), so a
 * dispatcher flushing hundreds of results pays one round trip, not two per attempt.
 *
 * Every event must appear at most once per call: two updates of one row inside one statement
 * would not see each other. The store splits a batch that names an event twice into several calls
 * of one transaction, in order.
 *
 * Parameters: $1..$9 parallel arrays (one element per attempt), $10 now.
 */
import type { FinishedAttempt } from '../store.js';

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
)
-- A manual success delivers the event whatever its state, and voids any lease in flight.
UPDATE events e
SET status = 'delivered', next_attempt_at = NULL, lease_token = NULL, delivered_at = $10::bigint,
    finished_at = $10::bigint
FROM f
WHERE f.next_status IS NULL AND f.success
  AND e.id = f.event_id AND e.status <> 'delivered'`;

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

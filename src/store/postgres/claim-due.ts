/**
 * The hot query of the dispatcher, PostgreSQL flavour: ONE statement claims a whole batch. Same
 * semantics as sqlite/claim-due.ts, plus what several processes claiming at once need:
 *
 * - `FOR UPDATE OF e SKIP LOCKED` in the scan: rows another process is claiming at this moment are
 *   passed over, so concurrent claimers take disjoint windows instead of queueing on one another.
 *   A row that another claimer leased after this statement's snapshot is re-checked on lock
 *   (READ COMMITTED): its next_attempt_at is now the lease end, so it no longer qualifies.
 * - The lease is the row's due time moved to the end of the lease, and the fencing token is the id
 *   of the attempt row this statement opens: only that attempt may settle the event later.
 * - Rows whose scheduled attempts are used up (a worker died holding their last lease) are marked
 *   failed here instead of being attempted again.
 *
 * Time: `$1` is the caller's clock. The lease end (`$1 + $6`) and the due comparison use that same
 * clock, as on SQLite (tests drive it). Correctness does not depend on clocks agreeing: fencing makes
 * a stale attempt's result harmless, so skew between machines can only cause an extra (at least once)
 * delivery, and only when it exceeds the lease margin (lease = 2 × delivery timeout + 5 s).
 *
 * Parameters: $1 now, $2 excluded app ids, $3 scan window, $4 per-endpoint limit, $5 batch limit,
 * $6 lease ms, $7 max attempts, $8 attempts already in flight per app id (JSON object).
 */
export const CLAIM_DUE_SQL = `
WITH due AS (
  -- The oldest due deliveries of enabled endpoints (a disabled endpoint's deliveries wait without
  -- using attempts). The window is a few batches deep so the per-endpoint cut below has room, and
  -- the cost of a claim does not grow with the backlog (index events_due).
  SELECT e.id, e.app_id, e.next_attempt_at, e.attempt_count, e.scheduled_attempts, e.lease_token, e.created_at
  FROM events e
  JOIN endpoints p ON p.app_id = e.app_id AND p.enabled
  WHERE e.status = 'pending'
    AND e.next_attempt_at <= $1::bigint
    AND e.app_id <> ALL ($2::int[])
  ORDER BY e.next_attempt_at
  LIMIT $3
  FOR UPDATE OF e SKIP LOCKED
),
chosen AS (
  -- At most $4 attempts of one project in flight, those this process already runs ($8) included,
  -- so one busy endpoint cannot fill a whole batch nor the process's concurrency.
  SELECT id, app_id, next_attempt_at, attempt_count, scheduled_attempts, lease_token, created_at
  FROM (
    SELECT due.*, row_number() OVER (PARTITION BY app_id ORDER BY next_attempt_at) AS nth FROM due
  ) ranked
  WHERE nth <= $4 - COALESCE(($8::jsonb ->> app_id::text)::int, 0)
  ORDER BY next_attempt_at
  LIMIT $5
),
exhausted AS (
  -- Its last attempt was leased by a process that died: the attempts are used up.
  UPDATE events e
  SET status = 'failed', next_attempt_at = NULL, lease_token = NULL, finished_at = $1::bigint
  FROM chosen c
  WHERE e.id = c.id AND c.scheduled_attempts >= $7
),
opened AS (
  INSERT INTO attempts (event_id, app_id, number, trigger, started_at)
  SELECT id, app_id, attempt_count + 1, 'scheduled', $1::bigint
  FROM chosen
  WHERE scheduled_attempts < $7
  RETURNING id, event_id, number
),
leased AS (
  -- The lease: due again at its end (a crashed worker's delivery comes back by itself), fenced by
  -- the new attempt's id.
  UPDATE events e
  SET attempt_count = e.attempt_count + 1,
      scheduled_attempts = e.scheduled_attempts + 1,
      next_attempt_at = $1::bigint + $6::bigint,
      lease_token = o.id
  FROM opened o
  WHERE e.id = o.event_id
  RETURNING e.id, e.app_id, e.body, e.scheduled_attempts, o.id AS attempt_id, o.number AS attempt_number
)
SELECT l.id, l.app_id, l.body, l.scheduled_attempts, l.attempt_id, l.attempt_number,
       p.url, p.secret_sealed, p.previous_secret_sealed, p.previous_secret_expires_at,
       c.created_at,
       c.lease_token IS NOT NULL AS reclaimed  -- a lease that ran out is being taken over
FROM leased l
JOIN chosen c ON c.id = l.id
JOIN endpoints p ON p.app_id = l.app_id
ORDER BY c.next_attempt_at, l.attempt_id`;

export interface ClaimedRow {
  id: string;
  app_id: number;
  body: string | null;
  scheduled_attempts: number;
  attempt_id: number;
  attempt_number: number;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null;
  created_at: number;
  reclaimed: boolean;
}

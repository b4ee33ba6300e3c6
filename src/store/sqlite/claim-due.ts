/**
 * The hot query of the dispatcher, SQLite flavour. Walks the partial index `events_due` from the
 * oldest due delivery, skipping projects whose endpoint is disabled (their deliveries wait without
 * using attempts) or already at their in-flight limit in this process, and keeps at most
 * `perEndpoint` attempts of any one project in flight (those already running included), so one
 * busy endpoint cannot fill a whole batch nor the process's concurrency.
 *
 * The inner LIMIT bounds the window function's work to a few batches' worth of rows, so the cost
 * of a claim does not grow with the backlog.
 */
export const CLAIM_DUE_SQL = `
SELECT id, app_id
FROM (
  SELECT id, app_id, next_attempt_at,
         ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY next_attempt_at) AS nth
  FROM (
    SELECT e.id, e.app_id, e.next_attempt_at
    FROM events e
    JOIN endpoints p ON p.app_id = e.app_id AND p.enabled = 1
    WHERE e.status = 'pending'
      AND e.next_attempt_at <= @now
      AND e.app_id NOT IN (SELECT value FROM json_each(@exclude))
    ORDER BY e.next_attempt_at
    LIMIT @scan
  )
)
-- What is already in flight to a project counts against its limit.
WHERE nth <= @perEndpoint - COALESCE(json_extract(@inFlight, '$."' || app_id || '"'), 0)
ORDER BY next_attempt_at
LIMIT @limit`;

/**
 * Leases one claimed row: its due time moves to the end of the lease (a crashed worker's delivery
 * becomes due again by itself), and the new attempt's id becomes the fencing token.
 */
export const LEASE_SQL = `
UPDATE events
SET attempt_count = attempt_count + 1,
    scheduled_attempts = scheduled_attempts + 1,
    next_attempt_at = @leaseUntil,
    lease_token = @attemptId
WHERE id = @id`;

/**
 * The dispatcher's claim, SQLite flavour, in two indexed steps (run in one transaction):
 *
 * 1. DUE_APPS_SQL finds the projects with pending deliveries by a loose index scan over
 *    `events_pending_by_app` (one seek per project, never a walk over rows), with each one's oldest
 *    due time. Only enabled endpoints count: a disabled endpoint's deliveries wait without using
 *    attempts.
 * 2. DUE_OF_APP_SQL takes, for each project with room under its in-flight limit, its oldest due
 *    deliveries up to that room.
 *
 * So a claim costs in proportion to the projects with pending work and the rows it takes, not to
 * the backlog of projects that are already at their limit (the global oldest-first walk that
 * preceded this spent 5 ms per claim at 20k such rows).
 */
export const DUE_APPS_SQL = `
WITH RECURSIVE apps(app_id) AS (
  SELECT MIN(app_id) FROM events WHERE status = 'pending'
  UNION ALL
  SELECT (SELECT MIN(e.app_id) FROM events e WHERE e.status = 'pending' AND e.app_id > apps.app_id)
  FROM apps
  WHERE apps.app_id IS NOT NULL
)
SELECT app_id, oldest
FROM (
  SELECT a.app_id,
         (SELECT MIN(e.next_attempt_at) FROM events e WHERE e.status = 'pending' AND e.app_id = a.app_id) AS oldest
  FROM apps a
  JOIN endpoints p ON p.app_id = a.app_id AND p.enabled = 1
  WHERE a.app_id IS NOT NULL
)
WHERE oldest <= @now
ORDER BY oldest`;

export const DUE_OF_APP_SQL = `
SELECT id, app_id, next_attempt_at
FROM events
WHERE app_id = @appId AND status = 'pending' AND next_attempt_at <= @now
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

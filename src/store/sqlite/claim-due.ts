/**
 * The dispatcher's claim, SQLite flavour, in two indexed steps (run in one transaction):
 *
 * 1. DUE_ENDPOINTS_SQL takes the projects with due work, oldest due first, by a range scan of
 *    `endpoints_due`. `endpoints.next_due_at` is each project's earliest pending due time, kept
 *    exact by triggers (migration 0002) and NULL while its endpoint is disabled (a disabled
 *    endpoint's deliveries wait without using attempts) or nothing is pending. The scan stops after
 *    as many projects as the batch can use, so its cost follows the batch, not the number of
 *    projects with due work (a loose index scan over every such project took ~600 ms at 10,000).
 * 2. DUE_OF_APP_SQL takes, for each of those projects in turn, its oldest due deliveries up to its
 *    room under the per-endpoint limit, until the batch is full.
 *
 * A project at its limit costs one skipped row of step 1 however large its backlog; it is
 * excluded by id, and a process has few such projects (concurrency / per-endpoint limit).
 */
export const DUE_ENDPOINTS_SQL = `
SELECT app_id
FROM endpoints INDEXED BY endpoints_due
WHERE next_due_at <= @now
ORDER BY next_due_at
LIMIT @limit`;

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

/**
 * The hot query of the dispatcher, PostgreSQL flavour: ONE statement claims a whole batch. Same
 * semantics as sqlite/claim-due.ts, plus what several processes claiming at once need:
 *
 * - Work is found per project, never by walking the global due order nor every project with
 *   pending work: `endpoints.next_due_at` is each project's earliest pending due time, kept exact by
 *   triggers (migration 0002) and NULL while its endpoint is disabled (a disabled endpoint's
 *   deliveries wait without using attempts) or nothing is pending; rows inserted since the last
 *   refresh of their project are announced by `due_hints` instead (migration 0011: ingest writes a
 *   hint rather than waiting for the endpoint row; each refresh folds its project's hints into
 *   next_due_at). `ready` takes the projects with due work oldest first by range scans of
 *   endpoints_due and due_hints_by_at, stopping after $3 of each; each gives its oldest due rows by
 *   an index range scan of its own. So the cost follows the batch, not the number of projects that
 *   have something due, and a project at its in-flight limit (excluded) costs one skipped index
 *   entry however large its backlog.
 * - `FOR UPDATE OF e SKIP LOCKED` in the per-project scan: rows another process is claiming at this
 *   moment are passed over, so concurrent claimers take disjoint rows instead of queueing on one
 *   another. A row that another claimer leased after this statement's snapshot is re-checked on lock
 *   (READ COMMITTED): its next_attempt_at is now the lease end, so it no longer qualifies.
 * - The lease is the row's due time moved to the end of the lease, and the fencing token is the id
 *   of the attempt row this statement opens: only that attempt may settle the event later.
 * - Rows whose scheduled attempts are used up (a worker died holding their last lease) are marked
 *   failed here instead of being attempted again.
 *
 * Order: projects are served oldest due work first, each up to its capacity, until the batch is
 * full; the nested loop stops there, so only the rows taken are read and locked. The batch is
 * returned in due order.
 *
 * Plan shape (do not "simplify"): the per-project scan says `app_id = ANY (ARRAY[...])` and orders
 * by (app_id, next_attempt_at), rather than `app_id = ... ORDER BY next_attempt_at`. With a plain
 * equality, app_id drops out of the sort order and the planner may answer the ORDER BY from
 * events_due, filtering on app_id: it assumes a project's rows are spread evenly over the due order,
 * and walks exactly the backlog this query exists to avoid (measured: 100k rows for 16). The array
 * form is still an index condition of events_pending_by_app, with next_attempt_at as its range, but
 * only that index gives the order, so the scan stops after the rows taken.
 *
 * Time: `$1` is the caller's clock. The lease end (`$1 + $6`) and the due comparison use that same
 * clock, as on SQLite (tests drive it). Correctness does not depend on clocks agreeing: fencing makes
 * a stale attempt's result harmless, so skew between machines can only cause an extra (at least once)
 * delivery, and only when it exceeds the lease margin (lease = 2 × delivery timeout + 5 s).
 *
 * rateLimitPerSecond (domain/pacing.ts, migration 0012): a capped project's capacity is also the
 * send slots its pace has within $10 ms of now, and the statement moves its pace on by one slot
 * per delivery leased (`paced`), handing each its slot (send_at). The pace row is an upsert that
 * waits for a concurrent claim's and then moves on from that claim's committed slots (ON CONFLICT
 * DO UPDATE always updates the latest version), so two processes never get one slot; the
 * capacity read from the snapshot can only be stale by what such a claim took, so a slot lies at
 * most a few horizons out, far inside the lease. Only claims lock pace rows, in app_id order,
 * after their events and before the endpoint rows their triggers refresh.
 *
 * Parameters: $1 now, $2 excluded app ids, $3 most projects considered, $4 per-endpoint limit,
 * $5 batch limit, $6 lease ms, $7 max attempts, $8 attempts already in flight per app id (JSON
 * object), $9 per-app limits overriding $4 (JSON object: the dispatcher's adaptive windows),
 * $10 the pacing horizon in ms.
 */
import type pg from 'pg';
import { PACE_HORIZON_MS } from '../../domain/pacing.js';
import { pendingBody } from '../invariants.js';
import type { ClaimedDelivery, ClaimOptions } from '../store.js';

export const CLAIM_DUE_SQL = `
WITH ready AS (
  -- The projects that may take work now: something due on an enabled endpoint (next_due_at, or a
  -- hint of rows inserted since its last refresh), not excluded, and below the per-endpoint limit
  -- counting the attempts this process already runs ($8). Oldest due work first; at most $3 of them
  -- (a project gives a row at least unless another claimer holds its rows, so that fills a batch).
  -- A capped project's capacity is at most its pace's slots within the horizon.
  SELECT app_id, oldest, rate, capacity
  FROM (
    SELECT app_id, oldest, rate,
           CASE WHEN rate IS NULL THEN capacity
                ELSE least(capacity, greatest(0, ceil(
                  ($1::bigint + $10::int - greatest($1::bigint, COALESCE((SELECT s.next_slot_at FROM endpoint_pace s WHERE s.app_id = due.app_id), $1::bigint)))
                  * rate / 1000.0))::int)
           END AS capacity
    FROM (
    SELECT d.app_id, min(d.oldest) AS oldest, max(d.rate) AS rate,
           COALESCE(($9::jsonb ->> d.app_id::text)::int, $4::int) - COALESCE(($8::jsonb ->> d.app_id::text)::int, 0) AS capacity
    FROM (
      (SELECT p.app_id, p.next_due_at AS oldest, p.rate_limit_per_second AS rate
       FROM endpoints p
       WHERE p.next_due_at <= $1::bigint
         AND p.app_id <> ALL ($2::int[])
       ORDER BY p.next_due_at, p.app_id
       LIMIT $3)
      UNION ALL
      (SELECT h.app_id, h.at, p.rate_limit_per_second
       FROM due_hints h JOIN endpoints p ON p.app_id = h.app_id AND p.enabled
       WHERE h.at <= $1::bigint
         AND h.app_id <> ALL ($2::int[])
       ORDER BY h.at
       LIMIT $3)
    ) d
    GROUP BY d.app_id
    ORDER BY min(d.oldest), d.app_id
    LIMIT $3
    ) due
    WHERE capacity > 0
  ) paced_due
  WHERE capacity > 0
),
chosen AS MATERIALIZED (
  -- Each project's oldest due deliveries, at most its capacity (so one busy endpoint cannot fill a
  -- whole batch nor the process's concurrency), projects in turn until the batch is full.
  SELECT e.id, e.app_id, e.next_attempt_at, e.attempt_count, e.scheduled_attempts, e.lease_token, e.created_at, a.rate
  FROM ready a
  CROSS JOIN LATERAL (
    SELECT e.id, e.app_id, e.next_attempt_at, e.attempt_count, e.scheduled_attempts, e.lease_token, e.created_at
    FROM events e
    WHERE e.status = 'pending'
      AND e.app_id = ANY (ARRAY[a.app_id])
      AND e.next_attempt_at <= $1::bigint
    ORDER BY e.app_id, e.next_attempt_at
    LIMIT LEAST(a.capacity, $5::int)
    FOR UPDATE OF e SKIP LOCKED
  ) e
  -- Projects in turn: the order of ready, which the nested loop keeps (within a project, the order of
  -- its scan), so no sort waits for every project's rows and the loop stops at the batch limit.
  ORDER BY a.oldest, a.app_id
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
),
paced AS (
  -- Each capped project's pace moves on by one slot per delivery leased, from its latest committed
  -- slot (a concurrent claim's upsert is waited for); answers where it now stands.
  INSERT INTO endpoint_pace AS s (app_id, next_slot_at)
  SELECT app_id, $1::bigint + count(*) * 1000.0 / rate
  FROM chosen
  WHERE rate IS NOT NULL AND scheduled_attempts < $7
  GROUP BY app_id, rate
  ORDER BY app_id
  ON CONFLICT (app_id) DO UPDATE SET next_slot_at = greatest($1::bigint, s.next_slot_at) + (excluded.next_slot_at - $1::bigint)
  RETURNING s.app_id, s.next_slot_at
)
SELECT l.id, l.app_id, l.body, l.scheduled_attempts, l.attempt_id, l.attempt_number,
       p.url, p.secret_sealed, p.previous_secret_sealed, p.previous_secret_expires_at, p.headers_sealed, p.rate_limit_per_second,
       c.created_at,
       c.lease_token IS NOT NULL AS reclaimed,  -- a lease that ran out is being taken over
       -- The project's slots are the last of its pace, one per leased delivery in due order.
       q.next_slot_at - (count(*) OVER (PARTITION BY l.app_id)
                         - row_number() OVER (PARTITION BY l.app_id ORDER BY c.next_attempt_at, l.attempt_id) + 1) * 1000.0 / c.rate AS send_at
FROM leased l
JOIN chosen c ON c.id = l.id
JOIN endpoints p ON p.app_id = l.app_id
LEFT JOIN paced q ON q.app_id = l.app_id
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
  headers_sealed: string | null;
  rate_limit_per_second: number | null;
  created_at: number;
  reclaimed: boolean;
  send_at: number | null;
}

const CLAIM_DUE = { name: 'claim_due', text: CLAIM_DUE_SQL };

// endpoints.next_due_at is each enabled endpoint's earliest pending due time as of its last refresh
// (migration 0002), due_hints the rows inserted since (0011): the earliest of each is one step of
// endpoints_due and of due_hints_by_at (a hint of a disabled endpoint is passed over).
const NEXT_DUE = {
  name: 'next_due',
  text: `
SELECT least(
  (SELECT next_due_at FROM endpoints WHERE next_due_at IS NOT NULL ORDER BY next_due_at LIMIT 1),
  (SELECT h.at FROM due_hints h JOIN endpoints p ON p.app_id = h.app_id AND p.enabled ORDER BY h.at LIMIT 1)
) AS next_due_at`,
};

export class Claims {
  constructor(private readonly pool: pg.Pool) {}

  async claimDue(o: ClaimOptions): Promise<ClaimedDelivery[]> {
    if (o.limit <= 0) return [];
    const { rows } = await this.pool.query<ClaimedRow>({
      ...CLAIM_DUE,
      values: [
        o.now,
        [...o.excludeAppIds],
        // Projects considered at most: each gives a row at least, unless other claimers hold its rows.
        Math.max(o.limit * 4, 64),
        o.perEndpointLimit,
        o.limit,
        o.leaseMs,
        o.maxAttempts,
        JSON.stringify(o.inFlight),
        JSON.stringify(o.windows ?? {}),
        PACE_HORIZON_MS,
      ],
    });
    return rows.map(toClaimedDelivery);
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.pool.query<{ next_due_at: number }>({ ...NEXT_DUE, values: [] });
    return rows[0]?.next_due_at ?? null;
  }
}

const toClaimedDelivery = (r: ClaimedRow): ClaimedDelivery => ({
  eventId: r.id,
  appId: r.app_id,
  attemptId: r.attempt_id,
  attemptNumber: r.attempt_number,
  scheduledAttempts: r.scheduled_attempts,
  url: r.url,
  body: pendingBody(r),
  secretSealed: r.secret_sealed,
  previousSecretSealed: r.previous_secret_sealed,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  headersSealed: r.headers_sealed,
  rateLimitPerSecond: r.rate_limit_per_second,
  createdAt: r.created_at,
  reclaimed: r.reclaimed,
  sendAt: r.send_at,
});

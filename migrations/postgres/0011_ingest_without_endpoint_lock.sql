-- Ingest no longer waits for the other transactions of its project.
--
-- Before 0011, every transaction of one project queued behind the one before it: an ingest batch
-- locked its projects' endpoint rows to its commit (0002: so that a concurrent refresh of the due
-- time could not miss its uncommitted rows), a claim and a recorded batch locked them to refresh
-- the due time, and every ingest and record upserted the same event_stats_hourly row. Under one
-- busy endpoint (bench P2) more than half of reghook's active database sessions were waiting on a
-- lock, each behind another transaction's commit flush.
--
-- Now:
--
-- - An ingest writes a due hint (due_hints: project, earliest due time of its new rows) instead of
--   touching the endpoint row. Inserts never wait for each other nor for a claim.
-- - The claim takes projects from both endpoints.next_due_at and due_hints (claim-due.ts), and a
--   refresh (refresh_next_due: a claim leasing rows, a settled attempt, enabling an endpoint…)
--   deletes the project's hints it can see, then recomputes next_due_at exactly. Each deleted hint
--   was committed before the DELETE's snapshot, so its rows are seen by the recompute, which runs
--   after it with a later snapshot. A hint not yet committed is not seen, so not deleted: it keeps
--   its rows claimable. That is the guarantee the endpoint row lock gave, without the wait.
-- - Hints only exist for rows inserted pending, and ingest inserts a row pending only for an enabled
--   endpoint: a hint of an endpoint disabled meanwhile waits (the claim only takes enabled
--   endpoints' hints) until the refresh that enables it again deletes it.
-- - event_stats_hourly gets a shard column: each session adds to the row of its own shard
--   (backend pid mod 8), so two sessions rarely update one row; every reader already sums
--   (stats.ts).

CREATE TABLE due_hints (
  app_id INTEGER NOT NULL,
  at     BIGINT NOT NULL
);
-- The refresh deletes by project; the claim and nextDueAt read the earliest first.
CREATE INDEX due_hints_by_app ON due_hints (app_id);
CREATE INDEX due_hints_by_at ON due_hints (at);

CREATE OR REPLACE FUNCTION events_due_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO due_hints (app_id, at)
  SELECT app_id, min(next_attempt_at) FROM new_rows WHERE status = 'pending' GROUP BY app_id;
  RETURN NULL;
END
$$;

-- Recomputes the due time of these projects: one descent of events_pending_by_app each. The
-- endpoint rows are locked in app_id order first, so statements refreshing several projects at once
-- (a claim, a batch of recorded attempts) never deadlock on them; the hints are deleted before the
-- recompute (see above: the order matters).
CREATE OR REPLACE FUNCTION refresh_next_due(apps integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM endpoints WHERE app_id = ANY (apps) ORDER BY app_id FOR NO KEY UPDATE;
  DELETE FROM due_hints WHERE app_id = ANY (apps);
  -- Written only when it moves (settling a leased row rarely moves it).
  UPDATE endpoints p SET next_due_at = due.at
  FROM (
    SELECT x.app_id, CASE WHEN x.enabled THEN (
      SELECT min(e.next_attempt_at) FROM events e WHERE e.app_id = x.app_id AND e.status = 'pending'
    ) END AS at
    FROM endpoints x WHERE x.app_id = ANY (apps)
  ) due
  WHERE p.app_id = due.app_id AND p.next_due_at IS DISTINCT FROM due.at;
END
$$;

ALTER TABLE event_stats_hourly ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE event_stats_hourly DROP CONSTRAINT event_stats_hourly_pkey;
ALTER TABLE event_stats_hourly ADD PRIMARY KEY (app_id, hour, shard);

CREATE OR REPLACE FUNCTION events_stats_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_stats_hourly AS s (app_id, hour, shard, pending, delivered, failed, skipped, erased)
  SELECT app_id, created_at - created_at % 3600000, pg_backend_pid() % 8,
         count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'delivered'),
         count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'skipped'),
         count(*) FILTER (WHERE status = 'erased')
  FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (app_id, hour, shard) DO UPDATE SET
    pending = s.pending + excluded.pending, delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
    skipped = s.skipped + excluded.skipped, erased = s.erased + excluded.erased;
  RETURN NULL;
END
$$;

-- Only rows whose status changed; the rows of one (app, hour) are moved by one upsert, in key order.
CREATE OR REPLACE FUNCTION events_stats_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_stats_hourly AS s (app_id, hour, shard, pending, delivered, failed, skipped, erased)
  SELECT o.app_id, o.created_at - o.created_at % 3600000, pg_backend_pid() % 8,
         count(*) FILTER (WHERE n.status = 'pending') - count(*) FILTER (WHERE o.status = 'pending'),
         count(*) FILTER (WHERE n.status = 'delivered') - count(*) FILTER (WHERE o.status = 'delivered'),
         count(*) FILTER (WHERE n.status = 'failed') - count(*) FILTER (WHERE o.status = 'failed'),
         count(*) FILTER (WHERE n.status = 'skipped') - count(*) FILTER (WHERE o.status = 'skipped'),
         count(*) FILTER (WHERE n.status = 'erased') - count(*) FILTER (WHERE o.status = 'erased')
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.status IS DISTINCT FROM o.status
  GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (app_id, hour, shard) DO UPDATE SET
    pending = s.pending + excluded.pending, delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
    skipped = s.skipped + excluded.skipped, erased = s.erased + excluded.erased;
  RETURN NULL;
END
$$;

-- A deletion subtracts in this session's shard too (a shard's counts may go below zero; their sum
-- per hour does not).
CREATE OR REPLACE FUNCTION events_stats_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_stats_hourly AS s (app_id, hour, shard, pending, delivered, failed, skipped, erased)
  SELECT app_id, created_at - created_at % 3600000, pg_backend_pid() % 8,
         -count(*) FILTER (WHERE status = 'pending'), -count(*) FILTER (WHERE status = 'delivered'),
         -count(*) FILTER (WHERE status = 'failed'), -count(*) FILTER (WHERE status = 'skipped'),
         -count(*) FILTER (WHERE status = 'erased')
  FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (app_id, hour, shard) DO UPDATE SET
    pending = s.pending + excluded.pending, delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
    skipped = s.skipped + excluded.skipped, erased = s.erased + excluded.erased;
  RETURN NULL;
END
$$;

-- Endpoint health (SPEC section 4) and the rollups behind GET /v1/projects/{appId}/webhook/stats
-- (SPEC section 5). All of it is kept on write, never recomputed by scanning; this migration fills
-- it once from what was recorded before it (one pass over events and attempts).

-- One row per endpoint, moved on by recordAttempts as scheduled attempts are recorded (the rule is
-- src/domain/endpoint-health.ts). failing_since is set once a streak reaches REGHOOK_FAILING_AFTER.
-- A table of its own, not columns of endpoints: recordAttempts locks these rows FIRST (in app_id
-- order), before any event or endpoint row, and nothing else locks them, so they add no lock-order
-- cycle with the claim, which locks events and then endpoints (record-attempts.ts).
CREATE TABLE endpoint_health (
  app_id               INTEGER PRIMARY KEY REFERENCES projects (app_id),
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  streak_started_at    BIGINT,
  failing_since        BIGINT,
  last_success_at      BIGINT,
  last_failure_at      BIGINT
);
-- GET /v1/projects?health=failing (longest failing first) and the failing-endpoints gauge: only
-- failing endpoints are in it.
CREATE INDEX endpoint_health_failing ON endpoint_health (failing_since, app_id) WHERE failing_since IS NOT NULL;

CREATE FUNCTION endpoints_health_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO endpoint_health (app_id) VALUES (NEW.app_id) ON CONFLICT (app_id) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER endpoints_health_on_insert AFTER INSERT ON endpoints
  FOR EACH ROW EXECUTE FUNCTION endpoints_health_after_insert();

-- Events by creation hour (UTC, epoch ms of its start) and current status. Statement-level
-- triggers keep it exact on every insert and status change, whichever code path makes it (ingest,
-- claim, attempts, recovery, replay, erasure). They fire after events_due_on_* (triggers of one
-- event fire in name order), so a statement locks endpoint rows, then these, each in key order.
CREATE TABLE event_stats_hourly (
  app_id    INTEGER NOT NULL,
  hour      BIGINT NOT NULL,
  pending   INTEGER NOT NULL DEFAULT 0,
  delivered INTEGER NOT NULL DEFAULT 0,
  failed    INTEGER NOT NULL DEFAULT 0,
  skipped   INTEGER NOT NULL DEFAULT 0,
  erased    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, hour)
);

-- Finished attempts (every trigger) by start hour, and the latency histogram of the successful
-- ones (buckets of src/domain/latency-histogram.ts), both kept by recordAttempts and
-- recordTestAttempt in the statement that records the attempt.
CREATE TABLE attempt_stats_hourly (
  app_id    INTEGER NOT NULL,
  hour      BIGINT NOT NULL,
  succeeded INTEGER NOT NULL DEFAULT 0,
  failed    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, hour)
);

CREATE TABLE latency_hourly (
  app_id INTEGER NOT NULL,
  hour   BIGINT NOT NULL,
  bucket INTEGER NOT NULL,
  count  INTEGER NOT NULL,
  PRIMARY KEY (app_id, hour, bucket)
);

-- The stats' partial hours at both ends of a window are counted from the rows themselves: events
-- by creation time (attempts by start time use attempts_by_time).
CREATE INDEX events_by_created ON events (app_id, created_at);
-- The age of the oldest pending event (retries included), for /metrics: one step of this index.
CREATE INDEX events_pending_by_age ON events (created_at) WHERE status = 'pending';

CREATE FUNCTION events_stats_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_stats_hourly AS s (app_id, hour, pending, delivered, failed, skipped, erased)
  SELECT app_id, created_at - created_at % 3600000,
         count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'delivered'),
         count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'skipped'),
         count(*) FILTER (WHERE status = 'erased')
  FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (app_id, hour) DO UPDATE SET
    pending = s.pending + excluded.pending, delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
    skipped = s.skipped + excluded.skipped, erased = s.erased + excluded.erased;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_stats_on_insert AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_stats_after_insert();

-- Only rows whose status changed; the rows of one (app, hour) are moved by one upsert, in key order.
CREATE FUNCTION events_stats_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_stats_hourly AS s (app_id, hour, pending, delivered, failed, skipped, erased)
  SELECT o.app_id, o.created_at - o.created_at % 3600000,
         count(*) FILTER (WHERE n.status = 'pending') - count(*) FILTER (WHERE o.status = 'pending'),
         count(*) FILTER (WHERE n.status = 'delivered') - count(*) FILTER (WHERE o.status = 'delivered'),
         count(*) FILTER (WHERE n.status = 'failed') - count(*) FILTER (WHERE o.status = 'failed'),
         count(*) FILTER (WHERE n.status = 'skipped') - count(*) FILTER (WHERE o.status = 'skipped'),
         count(*) FILTER (WHERE n.status = 'erased') - count(*) FILTER (WHERE o.status = 'erased')
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.status IS DISTINCT FROM o.status
  GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (app_id, hour) DO UPDATE SET
    pending = s.pending + excluded.pending, delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
    skipped = s.skipped + excluded.skipped, erased = s.erased + excluded.erased;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_stats_on_update AFTER UPDATE ON events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_stats_after_update();

CREATE FUNCTION events_stats_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE event_stats_hourly s SET
    pending = s.pending - d.pending, delivered = s.delivered - d.delivered, failed = s.failed - d.failed,
    skipped = s.skipped - d.skipped, erased = s.erased - d.erased
  FROM (
    SELECT app_id, created_at - created_at % 3600000 AS hour,
           count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'delivered') AS delivered,
           count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status = 'skipped') AS skipped,
           count(*) FILTER (WHERE status = 'erased') AS erased
    FROM old_rows GROUP BY 1, 2
  ) d
  WHERE s.app_id = d.app_id AND s.hour = d.hour;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_stats_on_delete AFTER DELETE ON events
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_stats_after_delete();

-- What was recorded before this migration.
INSERT INTO event_stats_hourly (app_id, hour, pending, delivered, failed, skipped, erased)
SELECT app_id, created_at - created_at % 3600000,
       count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'delivered'),
       count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'skipped'),
       count(*) FILTER (WHERE status = 'erased')
FROM events GROUP BY 1, 2;

INSERT INTO attempt_stats_hourly (app_id, hour, succeeded, failed)
SELECT app_id, started_at - started_at % 3600000, count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)
FROM attempts WHERE finished GROUP BY 1, 2;

-- latencyBucket() of src/domain/latency-histogram.ts, in SQL.
INSERT INTO latency_hourly (app_id, hour, bucket, count)
SELECT app_id, hour, bucket, count(*)
FROM (
  SELECT app_id, started_at - started_at % 3600000 AS hour,
         CASE WHEN d < 16 THEN d
              WHEN d < 32 THEN 8 + (d >> 1)
              WHEN d < 64 THEN 16 + (d >> 2)
              WHEN d < 128 THEN 24 + (d >> 3)
              WHEN d < 256 THEN 32 + (d >> 4)
              WHEN d < 512 THEN 40 + (d >> 5)
              WHEN d < 1024 THEN 48 + (d >> 6)
              WHEN d < 2048 THEN 56 + (d >> 7)
              WHEN d < 4096 THEN 64 + (d >> 8)
              WHEN d < 8192 THEN 72 + (d >> 9)
              WHEN d < 16384 THEN 80 + (d >> 10)
              WHEN d < 32768 THEN 88 + (d >> 11)
              WHEN d < 65536 THEN 96 + (d >> 12)
              WHEN d < 131072 THEN 104 + (d >> 13)
              WHEN d < 262144 THEN 112 + (d >> 14)
              WHEN d < 524288 THEN 120 + (d >> 15)
              WHEN d < 1048576 THEN 128 + (d >> 16)
              WHEN d < 2097152 THEN 136 + (d >> 17)
              WHEN d < 4194304 THEN 144 + (d >> 18)
              WHEN d < 8388608 THEN 152 + (d >> 19)
              WHEN d < 16777216 THEN 160 + (d >> 20)
         END AS bucket
  FROM (SELECT app_id, started_at, least(greatest(coalesce(duration_ms, 0), 0), 16777215) AS d FROM attempts WHERE finished AND success) f
) b
GROUP BY 1, 2, 3;

-- Health from the scheduled attempts recorded so far, with the default REGHOOK_FAILING_AFTER (3).
INSERT INTO endpoint_health (app_id, consecutive_failures, streak_started_at, failing_since, last_success_at, last_failure_at)
SELECT app_id, streak, CASE WHEN streak > 0 THEN streak_start END, CASE WHEN streak >= 3 THEN streak_start END,
       last_success_at, last_failure_at
FROM (
  SELECT s.app_id, s.last_success_at, s.last_failure_at,
         (SELECT count(*) FROM attempts a WHERE a.app_id = s.app_id AND a.trigger = 'scheduled' AND a.finished
            AND NOT a.success AND a.started_at > coalesce(s.last_success_at, -1)) AS streak,
         (SELECT min(a.started_at) FROM attempts a WHERE a.app_id = s.app_id AND a.trigger = 'scheduled' AND a.finished
            AND NOT a.success AND a.started_at > coalesce(s.last_success_at, -1)) AS streak_start
  FROM (
    SELECT p.app_id,
           (SELECT max(a.started_at) FROM attempts a WHERE a.app_id = p.app_id AND a.trigger = 'scheduled' AND a.finished AND a.success) AS last_success_at,
           (SELECT max(a.started_at) FROM attempts a WHERE a.app_id = p.app_id AND a.trigger = 'scheduled' AND a.finished AND NOT a.success) AS last_failure_at
    FROM endpoints p
  ) s
) t;

-- Endpoint health (SPEC section 4) and the rollups behind GET /v1/projects/{appId}/webhook/stats
-- (SPEC section 5). All of it is kept on write, never recomputed by scanning; this migration fills
-- it once from what was recorded before it (one pass over events and attempts).

-- One row per endpoint, moved on by recordAttempts as scheduled attempts are recorded (the rule is
-- src/domain/endpoint-health.ts). failing_since is set once a streak reaches REGHOOK_FAILING_AFTER.
CREATE TABLE endpoint_health (
  app_id               INTEGER PRIMARY KEY REFERENCES projects (app_id),
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  streak_started_at    INTEGER,
  failing_since        INTEGER,
  last_success_at      INTEGER,
  last_failure_at      INTEGER
) STRICT;
-- GET /v1/projects?health=failing (longest failing first) and the failing-endpoints gauge: only
-- failing endpoints are in it.
CREATE INDEX endpoint_health_failing ON endpoint_health (failing_since, app_id) WHERE failing_since IS NOT NULL;

CREATE TRIGGER endpoints_health_on_insert AFTER INSERT ON endpoints
BEGIN
  INSERT INTO endpoint_health (app_id) VALUES (NEW.app_id) ON CONFLICT (app_id) DO NOTHING;
END;

-- Events by creation hour (UTC, epoch ms of its start) and current status. Triggers keep it exact
-- on every insert and status change, whichever code path makes it (ingest, claim, attempts,
-- recovery, replay, erasure).
CREATE TABLE event_stats_hourly (
  app_id    INTEGER NOT NULL,
  hour      INTEGER NOT NULL,
  pending   INTEGER NOT NULL DEFAULT 0,
  delivered INTEGER NOT NULL DEFAULT 0,
  failed    INTEGER NOT NULL DEFAULT 0,
  skipped   INTEGER NOT NULL DEFAULT 0,
  erased    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, hour)
) STRICT, WITHOUT ROWID;

-- Finished attempts (every trigger) by start hour, and the latency histogram of the successful
-- ones (buckets of src/domain/latency-histogram.ts), both kept by recordAttempts and
-- recordTestAttempt in the transaction that records the attempt.
CREATE TABLE attempt_stats_hourly (
  app_id    INTEGER NOT NULL,
  hour      INTEGER NOT NULL,
  succeeded INTEGER NOT NULL DEFAULT 0,
  failed    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, hour)
) STRICT, WITHOUT ROWID;

CREATE TABLE latency_hourly (
  app_id INTEGER NOT NULL,
  hour   INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  count  INTEGER NOT NULL,
  PRIMARY KEY (app_id, hour, bucket)
) STRICT, WITHOUT ROWID;

-- The stats' partial hours at both ends of a window are counted from the rows themselves: events
-- by creation time (attempts by start time use attempts_by_time).
CREATE INDEX events_by_created ON events (app_id, created_at);
-- The age of the oldest pending event (retries included), for /metrics: one step of this index.
CREATE INDEX events_pending_by_age ON events (created_at) WHERE status = 'pending';

CREATE TRIGGER events_stats_on_insert AFTER INSERT ON events
BEGIN
  INSERT INTO event_stats_hourly (app_id, hour, pending, delivered, failed, skipped, erased)
  VALUES (NEW.app_id, NEW.created_at - NEW.created_at % 3600000, NEW.status = 'pending', NEW.status = 'delivered',
          NEW.status = 'failed', NEW.status = 'skipped', NEW.status = 'erased')
  ON CONFLICT (app_id, hour) DO UPDATE SET
    pending = pending + excluded.pending, delivered = delivered + excluded.delivered, failed = failed + excluded.failed,
    skipped = skipped + excluded.skipped, erased = erased + excluded.erased;
END;

CREATE TRIGGER events_stats_on_update AFTER UPDATE OF status ON events WHEN OLD.status IS NOT NEW.status
BEGIN
  UPDATE event_stats_hourly SET
    pending = pending + (NEW.status = 'pending') - (OLD.status = 'pending'),
    delivered = delivered + (NEW.status = 'delivered') - (OLD.status = 'delivered'),
    failed = failed + (NEW.status = 'failed') - (OLD.status = 'failed'),
    skipped = skipped + (NEW.status = 'skipped') - (OLD.status = 'skipped'),
    erased = erased + (NEW.status = 'erased') - (OLD.status = 'erased')
  WHERE app_id = OLD.app_id AND hour = OLD.created_at - OLD.created_at % 3600000;
END;

CREATE TRIGGER events_stats_on_delete AFTER DELETE ON events
BEGIN
  UPDATE event_stats_hourly SET
    pending = pending - (OLD.status = 'pending'), delivered = delivered - (OLD.status = 'delivered'),
    failed = failed - (OLD.status = 'failed'), skipped = skipped - (OLD.status = 'skipped'), erased = erased - (OLD.status = 'erased')
  WHERE app_id = OLD.app_id AND hour = OLD.created_at - OLD.created_at % 3600000;
END;

-- What was recorded before this migration.
INSERT INTO event_stats_hourly (app_id, hour, pending, delivered, failed, skipped, erased)
SELECT app_id, created_at - created_at % 3600000, sum(status = 'pending'), sum(status = 'delivered'), sum(status = 'failed'),
       sum(status = 'skipped'), sum(status = 'erased')
FROM events GROUP BY 1, 2;

INSERT INTO attempt_stats_hourly (app_id, hour, succeeded, failed)
SELECT app_id, started_at - started_at % 3600000, sum(success = 1), sum(success = 0)
FROM attempts WHERE finished = 1 GROUP BY 1, 2;

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
  FROM (SELECT app_id, started_at, min(max(coalesce(duration_ms, 0), 0), 16777215) AS d FROM attempts WHERE finished = 1 AND success = 1)
)
GROUP BY 1, 2, 3;

-- Health from the scheduled attempts recorded so far, with the default REGHOOK_FAILING_AFTER (3).
INSERT INTO endpoint_health (app_id, consecutive_failures, streak_started_at, failing_since, last_success_at, last_failure_at)
SELECT app_id, streak, CASE WHEN streak > 0 THEN streak_start END, CASE WHEN streak >= 3 THEN streak_start END,
       last_success_at, last_failure_at
FROM (
  SELECT s.app_id, s.last_success_at, s.last_failure_at,
         (SELECT count(*) FROM attempts a WHERE a.app_id = s.app_id AND a.trigger = 'scheduled' AND a.finished = 1
            AND a.success = 0 AND a.started_at > coalesce(s.last_success_at, -1)) AS streak,
         (SELECT min(a.started_at) FROM attempts a WHERE a.app_id = s.app_id AND a.trigger = 'scheduled' AND a.finished = 1
            AND a.success = 0 AND a.started_at > coalesce(s.last_success_at, -1)) AS streak_start
  FROM (
    SELECT p.app_id,
           (SELECT max(a.started_at) FROM attempts a WHERE a.app_id = p.app_id AND a.trigger = 'scheduled' AND a.finished = 1 AND a.success = 1) AS last_success_at,
           (SELECT max(a.started_at) FROM attempts a WHERE a.app_id = p.app_id AND a.trigger = 'scheduled' AND a.finished = 1 AND a.success = 0) AS last_failure_at
    FROM endpoints p
  ) s
) t;

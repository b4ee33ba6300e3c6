-- 1. Status `erased`: its person was erased before delivery (never sent again, not redeliverable).
--    A pending delivery always has its body: the database refuses a pending event without one, so
--    a delivery with no body cannot exist. SQLite changes a CHECK only by rebuilding the table.
-- 2. endpoints.next_due_at: the earliest next_attempt_at of the project's pending deliveries, NULL
--    when it has none or its endpoint is disabled. Triggers keep it exact on every change, so the
--    claim finds the projects with due work by one range scan of endpoints_due, oldest first: its
--    cost follows the batch it takes, not the number of projects that have something due.

CREATE TABLE events_new (
  id                 TEXT PRIMARY KEY,
  app_id             INTEGER NOT NULL REFERENCES projects (app_id),
  client_uuid        TEXT NOT NULL,
  body               TEXT,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped', 'erased')),
  attempt_count      INTEGER NOT NULL DEFAULT 0,  -- every attempt, for numbering
  scheduled_attempts INTEGER NOT NULL DEFAULT 0,  -- attempts counted against the limit
  next_attempt_at    INTEGER,
  lease_token        INTEGER,
  created_at         INTEGER NOT NULL,
  delivered_at       INTEGER,
  finished_at        INTEGER,                     -- when it became delivered, failed, skipped or erased
  -- Exactly one event per user, ever: the database, not the application, guarantees it.
  UNIQUE (app_id, client_uuid),
  -- Nothing can be owed without the bytes to send.
  CHECK (status <> 'pending' OR body IS NOT NULL)
) STRICT;

-- Version 0.1 could leave a pending event without its body (erased while pending): it is erased.
INSERT INTO events_new
SELECT id, app_id, client_uuid, body,
       CASE WHEN status = 'pending' AND body IS NULL THEN 'erased' ELSE status END,
       attempt_count, scheduled_attempts,
       CASE WHEN status = 'pending' AND body IS NULL THEN NULL ELSE next_attempt_at END,
       CASE WHEN status = 'pending' AND body IS NULL THEN NULL ELSE lease_token END,
       created_at, delivered_at,
       CASE WHEN status = 'pending' AND body IS NULL THEN created_at ELSE finished_at END
FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

-- The same indexes as 0001 (dropped with the old table).
CREATE INDEX events_due ON events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_pending_by_app ON events (app_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_log ON events (app_id, id);
CREATE INDEX events_log_by_status ON events (app_id, status, id);
CREATE INDEX events_retention ON events (finished_at) WHERE body IS NOT NULL;

ALTER TABLE endpoints ADD COLUMN next_due_at INTEGER;
-- The claim: projects with due work, oldest first. Only those with something pending are in it.
CREATE INDEX endpoints_due ON endpoints (next_due_at) WHERE next_due_at IS NOT NULL;

UPDATE endpoints SET next_due_at = (
  SELECT MIN(e.next_attempt_at) FROM events e WHERE e.app_id = endpoints.app_id AND e.status = 'pending'
) WHERE enabled = 1;

-- A new pending delivery can only bring its project's due time forward: no scan needed.
CREATE TRIGGER events_due_on_insert AFTER INSERT ON events WHEN NEW.status = 'pending'
BEGIN
  UPDATE endpoints SET next_due_at = NEW.next_attempt_at
  WHERE app_id = NEW.app_id AND enabled = 1 AND (next_due_at IS NULL OR next_due_at > NEW.next_attempt_at);
END;

-- A lease, a settled attempt, a recovery, an erasure: the project's earliest pending due time,
-- one descent of events_pending_by_app.
-- Written only when it moves (settling a leased row rarely moves it), sparing the row and index write.
CREATE TRIGGER events_due_on_update AFTER UPDATE OF status, next_attempt_at ON events
WHEN OLD.status = 'pending' OR NEW.status = 'pending'
BEGIN
  UPDATE endpoints SET next_due_at = due.at
  FROM (SELECT MIN(e.next_attempt_at) AS at FROM events e WHERE e.app_id = NEW.app_id AND e.status = 'pending') AS due
  WHERE app_id = NEW.app_id AND enabled = 1 AND next_due_at IS NOT due.at;
END;

-- A disabled endpoint's deliveries wait without being claimed; enabling it makes them due again.
CREATE TRIGGER endpoints_due_on_enabled AFTER UPDATE OF enabled ON endpoints
BEGIN
  UPDATE endpoints SET next_due_at = CASE WHEN NEW.enabled = 1 THEN (
    SELECT MIN(e.next_attempt_at) FROM events e WHERE e.app_id = NEW.app_id AND e.status = 'pending'
  ) END WHERE app_id = NEW.app_id;
END;

CREATE TRIGGER endpoints_due_on_insert AFTER INSERT ON endpoints WHEN NEW.enabled = 1
BEGIN
  UPDATE endpoints SET next_due_at = (
    SELECT MIN(e.next_attempt_at) FROM events e WHERE e.app_id = NEW.app_id AND e.status = 'pending'
  ) WHERE app_id = NEW.app_id;
END;

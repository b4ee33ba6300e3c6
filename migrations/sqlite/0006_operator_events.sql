-- Operator notifications (SPEC section 5, "Operator notifications"): endpoint.failing,
-- endpoint.recovered and event.failed, told to REGHOOK_OPERATOR_WEBHOOK_URL. A table of their own,
-- not rows of `events`: they belong to no project, so they never move a project's health, stats,
-- rollups, claims or delivery log, and their own attempts cause no notification.
--
-- A row is written by recordAttempts in the transaction that records the attempt causing it, so
-- a crash between that commit and the send loses nothing. `body` is the exact JSON every attempt
-- sends (the envelope { type, timestamp, data }). The notifier claims due rows under a lease
-- (next_attempt_at moved to the lease's end, lease_token its fencing token) and records each
-- attempt's outcome in the row: the last attempt's time, status code and error.
CREATE TABLE operator_events (
  id               TEXT PRIMARY KEY,
  type             TEXT NOT NULL,
  body             TEXT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempt_count    INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  lease_token      TEXT,
  last_attempt_at  INTEGER,
  last_status_code INTEGER,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  delivered_at     INTEGER
) STRICT;
-- The notifier's claim: due pending rows, earliest first.
CREATE INDEX operator_events_due ON operator_events (next_attempt_at) WHERE status = 'pending';

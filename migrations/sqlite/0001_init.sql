-- reghook schema, SQLite. Times are epoch milliseconds (INTEGER).

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE projects (
  app_id     INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
  id         TEXT PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES projects (app_id),
  hash       TEXT NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX api_keys_by_app ON api_keys (app_id);

-- One endpoint per project (Developer Tools -> Webhooks). Secrets are sealed (AES-256-GCM).
CREATE TABLE endpoints (
  app_id                     INTEGER PRIMARY KEY REFERENCES projects (app_id),
  url                        TEXT NOT NULL,
  enabled                    INTEGER NOT NULL,
  secret_sealed              TEXT NOT NULL,
  previous_secret_sealed     TEXT,
  previous_secret_expires_at INTEGER,
  created_at                 INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL
) STRICT;

-- A reported registration; `body` is the canonical webhook body, so "same data" is body equality.
-- `answer` is the JSON first answered, returned again to a repeated report.
CREATE TABLE registrations (
  app_id         INTEGER NOT NULL REFERENCES projects (app_id),
  client_uuid    TEXT NOT NULL,
  store_register INTEGER NOT NULL,
  subscriber_id  TEXT,                      -- NULL once past retention
  body           TEXT,
  answer         TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (app_id, client_uuid)
) STRICT;

-- Erasure finds a person by subscriberId; retention finds store users still awaiting a purchase.
CREATE INDEX registrations_by_subscriber ON registrations (app_id, subscriber_id);
CREATE INDEX registrations_awaiting ON registrations (created_at) WHERE store_register = 1;

CREATE TABLE purchases (
  app_id         INTEGER NOT NULL REFERENCES projects (app_id),
  transaction_id TEXT NOT NULL,
  client_uuid    TEXT NOT NULL,
  purchase_date  INTEGER,
  answer         TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (app_id, transaction_id)
) STRICT;
-- "Was a purchase reported before the registration?"
CREATE INDEX purchases_by_user ON purchases (app_id, client_uuid);

-- The event is also its own delivery queue row. A lease is a due time in the future:
-- claiming sets next_attempt_at = now + lease and lease_token = the attempt's id, so a crashed
-- worker's delivery simply becomes due again when the lease runs out.
CREATE TABLE events (
  id                 TEXT PRIMARY KEY,
  app_id             INTEGER NOT NULL REFERENCES projects (app_id),
  client_uuid        TEXT NOT NULL,
  body               TEXT,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
  attempt_count      INTEGER NOT NULL DEFAULT 0,  -- every attempt, for numbering
  scheduled_attempts INTEGER NOT NULL DEFAULT 0,  -- attempts counted against the limit
  next_attempt_at    INTEGER,
  lease_token        INTEGER,
  created_at         INTEGER NOT NULL,
  delivered_at       INTEGER,
  finished_at        INTEGER,                     -- when it became delivered, failed or skipped
  -- Exactly one event per user, ever: the database, not the application, guarantees it.
  UNIQUE (app_id, client_uuid)
) STRICT;
-- The earliest due delivery (the dispatcher's next wake-up), and the queue depth.
CREATE INDEX events_due ON events (next_attempt_at) WHERE status = 'pending';
-- The claim: which projects have pending deliveries (a loose scan over app_id), and each one's
-- oldest due deliveries, without walking the backlog of projects that are at their limit.
CREATE INDEX events_pending_by_app ON events (app_id, next_attempt_at) WHERE status = 'pending';
-- The delivery log: newest first per project, optionally by status.
CREATE INDEX events_log ON events (app_id, id);
CREATE INDEX events_log_by_status ON events (app_id, status, id);
-- Retention walks finished events that still hold a payload.
CREATE INDEX events_retention ON events (finished_at) WHERE body IS NOT NULL;

CREATE TABLE attempts (
  id            INTEGER PRIMARY KEY,
  event_id      TEXT NOT NULL,
  app_id        INTEGER NOT NULL,
  number        INTEGER NOT NULL,
  trigger       TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'test')),
  started_at    INTEGER NOT NULL,
  finished      INTEGER NOT NULL DEFAULT 0,
  success       INTEGER,
  status_code   INTEGER,
  error_kind    TEXT,
  duration_ms   INTEGER,
  response_body TEXT
) STRICT;
CREATE INDEX attempts_by_event ON attempts (event_id, number);
-- The dashboard's chart: attempts of one project over time.
CREATE INDEX attempts_by_time ON attempts (app_id, started_at);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  app_id    INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  details   TEXT NOT NULL,
  source_ip TEXT
) STRICT;
CREATE INDEX audit_log_by_app ON audit_log (app_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

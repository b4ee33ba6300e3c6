-- reghook schema, PostgreSQL. Mirrors migrations/sqlite/0001_init.sql table for table.
-- Times are epoch milliseconds (BIGINT), as in SQLite, so the Store interface and the retry
-- arithmetic are one and the same on both backends. Ids that are sorted or paginated as text use
-- COLLATE "C" so their order is byte order (as in SQLite), whatever the database's locale.

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE projects (
  app_id     INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id         TEXT COLLATE "C" PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES projects (app_id),
  hash       TEXT NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_keys_by_app ON api_keys (app_id);

-- One endpoint per project (Developer Tools -> Webhooks). Secrets are sealed (AES-256-GCM).
CREATE TABLE endpoints (
  app_id                     INTEGER PRIMARY KEY REFERENCES projects (app_id),
  url                        TEXT NOT NULL,
  enabled                    BOOLEAN NOT NULL,
  secret_sealed              TEXT NOT NULL,
  previous_secret_sealed     TEXT,
  previous_secret_expires_at BIGINT,
  created_at                 BIGINT NOT NULL,
  updated_at                 BIGINT NOT NULL
);

-- A reported registration; `body` is the canonical webhook body, so "same data" is body equality.
-- `answer` is the JSON first answered, returned again to a repeated report.
CREATE TABLE registrations (
  app_id         INTEGER NOT NULL REFERENCES projects (app_id),
  client_uuid    TEXT NOT NULL,
  store_register BOOLEAN NOT NULL,
  subscriber_id  TEXT,                      -- NULL once past retention
  body           TEXT,
  answer         TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (app_id, client_uuid)
);
-- Erasure finds a person by subscriberId; retention finds store users still awaiting a purchase.
CREATE INDEX registrations_by_subscriber ON registrations (app_id, subscriber_id);
CREATE INDEX registrations_awaiting ON registrations (created_at) WHERE store_register;

CREATE TABLE purchases (
  app_id         INTEGER NOT NULL REFERENCES projects (app_id),
  transaction_id TEXT NOT NULL,
  client_uuid    TEXT NOT NULL,
  purchase_date  BIGINT,
  answer         TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (app_id, transaction_id)
);
-- "Was a purchase reported before the registration?"
CREATE INDEX purchases_by_user ON purchases (app_id, client_uuid);

-- The event is also its own delivery queue row. A lease is a due time in the future:
-- claiming sets next_attempt_at = now + lease and lease_token = the attempt's id, so a crashed
-- worker's delivery simply becomes due again when the lease runs out.
CREATE TABLE events (
  id                 TEXT COLLATE "C" PRIMARY KEY,
  app_id             INTEGER NOT NULL REFERENCES projects (app_id),
  client_uuid        TEXT NOT NULL,
  body               TEXT,
  status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
  attempt_count      INTEGER NOT NULL DEFAULT 0,  -- every attempt, for numbering
  scheduled_attempts INTEGER NOT NULL DEFAULT 0,  -- attempts counted against the limit
  next_attempt_at    BIGINT,
  lease_token        BIGINT,
  created_at         BIGINT NOT NULL,
  delivered_at       BIGINT,
  finished_at        BIGINT,                      -- when it became delivered, failed or skipped
  -- Exactly one event per user, ever: the database, not the application, guarantees it.
  CONSTRAINT events_one_per_user UNIQUE (app_id, client_uuid)
);
-- When the next delivery is due (the dispatcher sleeps until then).
CREATE INDEX events_due ON events (next_attempt_at) WHERE status = 'pending';
-- The claim query: the projects with pending deliveries by a loose index scan (one descent each,
-- yielding its oldest), then each project's oldest due deliveries, so a project at its in-flight
-- limit costs one descent however large its backlog.
CREATE INDEX events_pending_by_app ON events (app_id, next_attempt_at) WHERE status = 'pending';
-- The delivery log: newest first per project, optionally by status.
CREATE INDEX events_log ON events (app_id, id);
CREATE INDEX events_log_by_status ON events (app_id, status, id);
-- Retention walks finished events that still hold a payload.
CREATE INDEX events_retention ON events (finished_at) WHERE body IS NOT NULL;

-- No foreign key to events: test attempts carry a webhook id that is not a stored event.
CREATE TABLE attempts (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id      TEXT COLLATE "C" NOT NULL,
  app_id        INTEGER NOT NULL,
  number        INTEGER NOT NULL,
  trigger       TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'test')),
  started_at    BIGINT NOT NULL,
  finished      BOOLEAN NOT NULL DEFAULT false,
  success       BOOLEAN,
  status_code   INTEGER,
  error_kind    TEXT,
  duration_ms   INTEGER,
  response_body TEXT
);
CREATE INDEX attempts_by_event ON attempts (event_id, number);
-- The dashboard's chart: attempts of one project over time.
CREATE INDEX attempts_by_time ON attempts (app_id, started_at);

-- Append-only: rows are inserted, never updated or deleted (the triggers below refuse it).
-- `details` is json, not jsonb, so it reads back exactly as written (key order included).
CREATE TABLE audit_log (
  id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  app_id    INTEGER NOT NULL,
  at        BIGINT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  details   JSON NOT NULL,
  source_ip TEXT
);
CREATE INDEX audit_log_by_app ON audit_log (app_id, id);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
-- TRUNCATE bypasses row triggers; refuse it too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

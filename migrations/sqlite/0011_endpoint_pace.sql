-- rateLimitPerSecond for the whole deployment, not per process (SPEC section 4).
--
-- Before 0011 each dispatcher paced its own sends, so several processes on one database file sent
-- up to that many times a capped endpoint's rate. Now the pace of each capped endpoint is one row:
-- the time of its next free send slot, in milliseconds (fractional: 1/rate seconds apart). A claim
-- takes a capped endpoint's deliveries only while their slots fall within a second of now, and
-- moves the row on by one interval per delivery it took, in its transaction (claim-due.ts; the rule
-- is domain/pacing.ts). Projects are never deleted; a row outlives a removed cap harmlessly.
CREATE TABLE endpoint_pace (
  app_id       INTEGER PRIMARY KEY REFERENCES projects (app_id),
  next_slot_at REAL NOT NULL
) STRICT;

-- The claim's first step reads each due project's cap with its id: the index covers both, so that
-- step stays a scan of the index alone (migration 0002 made it on next_due_at only).
DROP INDEX endpoints_due;
CREATE INDEX endpoints_due ON endpoints (next_due_at, rate_limit_per_second) WHERE next_due_at IS NOT NULL;

-- rateLimitPerSecond for the whole deployment, not per process (SPEC section 4).
--
-- Before 0012 each dispatcher paced its own sends, so N worker processes sent up to N times a
-- capped endpoint's rate. Now the pace of each capped endpoint is one row: the time of its next
-- free send slot, in milliseconds (fractional: 1/rate seconds apart). A claim takes a capped
-- endpoint's deliveries only while their slots fall within a second of now, and moves the row on
-- by one interval per delivery it took, in its own statement (claim-due.ts; the rule is
-- domain/pacing.ts). The row is locked by claims only, in app_id order, after the events they take
-- and before the endpoint rows their triggers refresh: it adds no edge to the lock order of
-- record-attempts.ts. Projects are never deleted; a row outlives a removed cap harmlessly.
CREATE TABLE endpoint_pace (
  app_id       INTEGER PRIMARY KEY REFERENCES projects (app_id),
  next_slot_at DOUBLE PRECISION NOT NULL
);

-- Status `erased`: its person was erased before delivery (never sent again, not redeliverable).
-- A pending delivery always has its body: the database refuses a pending event without one, so a
-- delivery with no body cannot exist.

-- Version 0.1 could leave a pending event without its body (erased while pending): it is erased.
UPDATE events
SET status = 'erased', next_attempt_at = NULL, lease_token = NULL, finished_at = created_at
WHERE status = 'pending' AND body IS NULL;

ALTER TABLE events
  DROP CONSTRAINT events_status_check,
  ADD CONSTRAINT events_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'skipped', 'erased')),
  -- Nothing can be owed without the bytes to send.
  ADD CONSTRAINT events_pending_has_body CHECK (status <> 'pending' OR body IS NOT NULL);

-- endpoints.next_due_at: the earliest next_attempt_at of the project's pending deliveries, NULL when
-- it has none or its endpoint is disabled. Triggers keep it exact on every change, so the claim
-- finds the projects with due work by one range scan of endpoints_due, oldest first: its cost
-- follows the batch it takes, not the number of projects that have something due (the loose index
-- scan over every project with pending work took ~50 ms at 10,000).
ALTER TABLE endpoints ADD COLUMN next_due_at BIGINT;
CREATE INDEX endpoints_due ON endpoints (next_due_at) WHERE next_due_at IS NOT NULL;

UPDATE endpoints p SET next_due_at = (
  SELECT min(e.next_attempt_at) FROM events e WHERE e.app_id = p.app_id AND e.status = 'pending'
) WHERE p.enabled;

-- Recomputes the due time of these projects: one descent of events_pending_by_app each. The
-- endpoint rows are locked in app_id order first, so statements refreshing several projects at once
-- (a claim, a batch of recorded attempts) never deadlock on them.
CREATE FUNCTION refresh_next_due(apps integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM endpoints WHERE app_id = ANY (apps) ORDER BY app_id FOR NO KEY UPDATE;
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

-- New pending deliveries can only bring a project's due time forward: no scan. The endpoint row is
-- locked even when its due time does not move, and held to commit: a concurrent refresh (a claim
-- leasing this project's due rows) cannot see this uncommitted row, and would otherwise raise the
-- due time past it, leaving it unclaimed. With the lock, the refresh waits and then sees it.
CREATE FUNCTION events_due_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM endpoints p
  WHERE p.app_id IN (SELECT app_id FROM new_rows WHERE status = 'pending')
  ORDER BY p.app_id FOR NO KEY UPDATE;
  UPDATE endpoints p SET next_due_at = n.due
  FROM (SELECT app_id, min(next_attempt_at) AS due FROM new_rows WHERE status = 'pending' GROUP BY app_id) n
  WHERE p.app_id = n.app_id AND p.enabled AND (p.next_due_at IS NULL OR p.next_due_at > n.due);
  RETURN NULL;
END
$$;
CREATE TRIGGER events_due_on_insert AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_due_after_insert();

-- A lease, a settled attempt, a recovery, an erasure: once per statement, for the projects whose
-- pending deliveries it changed.
CREATE FUNCTION events_due_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  apps integer[];
BEGIN
  SELECT array_agg(DISTINCT n.app_id) INTO apps
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE (o.status = 'pending' OR n.status = 'pending')
    AND (o.status IS DISTINCT FROM n.status OR o.next_attempt_at IS DISTINCT FROM n.next_attempt_at);
  IF apps IS NOT NULL THEN PERFORM refresh_next_due(apps); END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_due_on_update AFTER UPDATE ON events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_due_after_update();

-- A disabled endpoint's deliveries wait without being claimed; enabling it makes them due again.
CREATE FUNCTION endpoints_due_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM refresh_next_due(ARRAY[NEW.app_id]);
  RETURN NULL;
END
$$;
CREATE TRIGGER endpoints_due_on_enabled AFTER UPDATE OF enabled ON endpoints
  FOR EACH ROW EXECUTE FUNCTION endpoints_due_after_change();
CREATE TRIGGER endpoints_due_on_insert AFTER INSERT ON endpoints
  FOR EACH ROW EXECUTE FUNCTION endpoints_due_after_change();

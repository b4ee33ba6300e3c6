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

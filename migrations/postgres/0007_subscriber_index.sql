-- Search of the delivery log by subscriberId (SPEC section 5) without a plain-text index of it:
-- subscriber_hash is a keyed hash, HMAC-SHA256(index key, appId ':' subscriberId) truncated to 16
-- bytes (base64url), computed outside the store (src/secrets/subscriber-index.ts). The index key is
-- random, kept sealed in the settings; without it a hash cannot be tested against a guessed id.
--
-- An event gets it at creation, from its registration (a store user's first purchase copies the
-- registration's). Events created before this migration have NULL until the retention sweeper
-- backfills them from their payload; erasure sets it back to NULL, so an erased person is no
-- longer found. The index is partial: rows without a hash take no room in it.
ALTER TABLE events ADD COLUMN subscriber_hash TEXT;
ALTER TABLE registrations ADD COLUMN subscriber_hash TEXT;
CREATE INDEX events_by_subscriber ON events (app_id, subscriber_hash, id) WHERE subscriber_hash IS NOT NULL;
-- The backfill's work list: events that still hold a payload but no hash (those from before this
-- migration). A row leaves it once filled, erased or swept, so it empties.
CREATE INDEX events_without_subscriber_hash ON events (id) WHERE subscriber_hash IS NULL AND body IS NOT NULL;

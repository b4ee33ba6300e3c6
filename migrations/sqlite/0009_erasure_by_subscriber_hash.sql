-- Erasure (SPEC section 7) finds a person's registrations by the keyed hash of their subscriberId
-- (migration 0007, src/secrets/subscriber-index.ts), so no index holds subscriberIds in plain text
-- any more: registrations_by_subscriber (app_id, subscriber_id) from 0001 goes.
--
-- Registrations written before 0007 have no hash until the retention sweeper backfills them from
-- their subscriber_id. Until then erasure finds them by the plain value, through a partial index
-- that holds exactly those rows: a row leaves it when it gets its hash, is anonymised by retention
-- (subscriber_id NULL) or is erased, so it empties as the backfill runs and never grows again
-- (ingest has written the hash since 0007). The same index is the backfill's work list.
CREATE INDEX registrations_by_subscriber_hash ON registrations (app_id, subscriber_hash) WHERE subscriber_hash IS NOT NULL;
CREATE INDEX registrations_without_subscriber_hash ON registrations (app_id, subscriber_id) WHERE subscriber_hash IS NULL AND subscriber_id IS NOT NULL;
DROP INDEX registrations_by_subscriber;

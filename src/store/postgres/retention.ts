/**
 * Forgetting personal data (PostgreSQL): erasing one person, and the retention sweep. Erasure locks
 * the person's registrations before their events, as a purchase turning a registration into an
 * event does (it holds the registration FOR SHARE, see ingest.ts); the sweep passes over rows
 * other transactions hold (SKIP LOCKED) and takes them next time.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { SubscriberRef, UnhashedEvent, UnhashedRegistration } from '../store.js';
import { inTransaction } from './connection.js';

// The backfill (migration 0007): events_without_subscriber_hash (id) holds exactly these rows.
const UNHASHED_EVENTS = `
SELECT id AS "eventId", app_id AS "appId", body FROM events
WHERE subscriber_hash IS NULL AND body IS NOT NULL AND id > $2 ORDER BY id LIMIT $1`;

// Only while the payload is there: an event erased in the meantime stays unfindable.
const SET_SUBSCRIBER_HASHES = `
UPDATE events e SET subscriber_hash = h.hash
FROM unnest($1::text[], $2::text[]) AS h (id, hash)
WHERE e.id = h.id AND e.subscriber_hash IS NULL AND e.body IS NOT NULL`;

// The registrations' backfill (migration 0009): registrations_without_subscriber_hash holds exactly
// these rows, and each one filled leaves it, so no cursor is needed.
const UNHASHED_REGISTRATIONS = `
SELECT app_id AS "appId", client_uuid AS "clientUuid", subscriber_id AS "subscriberId" FROM registrations
WHERE subscriber_hash IS NULL AND subscriber_id IS NOT NULL LIMIT $1`;

// Only while the subscriberId is still the one hashed (retention may have anonymised it since).
const SET_REGISTRATION_HASHES = `
UPDATE registrations r SET subscriber_hash = h.hash
FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS h (app_id, client_uuid, subscriber_id, hash)
WHERE r.app_id = h.app_id AND r.client_uuid = h.client_uuid AND r.subscriber_id = h.subscriber_id AND r.subscriber_hash IS NULL`;

// Locks the person's registrations first: a purchase turning one into an event right now (it holds
// it FOR SHARE) finishes before, and the statements below see its event. Two lookups, each through
// its own partial index (migration 0009): the registrations not backfilled yet, by the plain
// value, and then the rest by the keyed hash. In that order: a row the backfill hashes while the
// first waits for it no longer matches the first (its new version is rechecked) and is found by
// the second, which starts after the backfill committed.
export const LOCK_UNHASHED_USERS_OF_SUBSCRIBER = `
SELECT client_uuid FROM registrations WHERE app_id = $1 AND subscriber_hash IS NULL AND subscriber_id = $2 FOR UPDATE`;
export const LOCK_USERS_OF_SUBSCRIBER = `SELECT client_uuid FROM registrations WHERE app_id = $1 AND subscriber_hash = $2 FOR UPDATE`;

// Erasure cancels what is still owed: an event not delivered yet becomes `erased`, never sent.
// A claim holding one of these rows right now (FOR UPDATE SKIP LOCKED) is waited for; an attempt
// already in flight cannot settle it afterwards (its fenced update wants `pending`).
const ERASE_EVENTS = `
UPDATE events
SET body = NULL,
    subscriber_hash = NULL,
    status = CASE WHEN status = 'delivered' THEN status ELSE 'erased' END,
    next_attempt_at = CASE WHEN status = 'delivered' THEN next_attempt_at END,
    lease_token = CASE WHEN status = 'delivered' THEN lease_token END,
    finished_at = CASE WHEN status = 'delivered' THEN finished_at ELSE $3::bigint END
WHERE app_id = $1 AND client_uuid = ANY ($2::text[])
RETURNING id`;

// A receiver's answer may echo the payload: the response bodies of the erased events' attempts go too.
const ERASE_ATTEMPT_BODIES = `UPDATE attempts SET response_body = NULL WHERE event_id = ANY ($1::text[])`;

const DELETE_REGISTRATIONS = `DELETE FROM registrations WHERE app_id = $1 AND client_uuid = ANY ($2::text[])`;

// One statement for the whole batch of expired payloads: the data-modifying CTEs share one snapshot
// and the `expired` rows, locked once (SKIP LOCKED: events another transaction holds wait for the
// next sweep).
const DROP_EXPIRED_PAYLOADS = `
WITH expired AS (
  SELECT id, app_id, client_uuid FROM events
  WHERE body IS NOT NULL AND finished_at < $1
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
dropped AS (UPDATE events e SET body = NULL FROM expired x WHERE e.id = x.id),
attempt_bodies AS (UPDATE attempts a SET response_body = NULL FROM expired x WHERE a.event_id = x.id),
anonymised AS (
  UPDATE registrations r SET body = NULL, subscriber_id = NULL
  FROM expired x WHERE r.app_id = x.app_id AND r.client_uuid = x.client_uuid
)
SELECT count(*) AS n FROM expired`;

const DROP_TEST_BODIES = `
UPDATE attempts SET response_body = NULL
WHERE trigger = 'test' AND started_at < $1 AND response_body IS NOT NULL`;

// Store users who never bought within the awaiting retention are forgotten. SKIP LOCKED passes
// over a registration a purchase is turning into an event right now.
const DROP_AWAITING = `
DELETE FROM registrations WHERE (app_id, client_uuid) IN (
  SELECT r.app_id, r.client_uuid FROM registrations r
  WHERE r.store_register AND r.created_at < $1
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.app_id = r.app_id AND e.client_uuid = r.client_uuid)
  LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

export class Retention {
  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  eraseSubscriber(appId: number, subscriber: SubscriberRef, now: number): Promise<{ registrations: number; events: number }> {
    return inTransaction(this.pool, this.logger, async (client) => {
      const unhashed = await client.query<{ client_uuid: string }>(LOCK_UNHASHED_USERS_OF_SUBSCRIBER, [appId, subscriber.id]);
      const hashed = await client.query<{ client_uuid: string }>(LOCK_USERS_OF_SUBSCRIBER, [appId, subscriber.hash]);
      const users = [...new Set([...unhashed.rows, ...hashed.rows].map((r) => r.client_uuid))];
      if (users.length === 0) return { registrations: 0, events: 0 };
      const erased = await client.query<{ id: string }>(ERASE_EVENTS, [appId, users, now]);
      await client.query(ERASE_ATTEMPT_BODIES, [erased.rows.map((r) => r.id)]);
      await client.query(DELETE_REGISTRATIONS, [appId, users]);
      return { registrations: users.length, events: erased.rowCount ?? 0 };
    });
  }

  sweepRetention(o: { finishedBefore: number; awaitingBefore: number; limit: number }): Promise<{ payloads: number; awaiting: number }> {
    return inTransaction(this.pool, this.logger, async (client) => {
      const payloads = await client.query<{ n: number }>(DROP_EXPIRED_PAYLOADS, [o.finishedBefore, o.limit]);
      await client.query(DROP_TEST_BODIES, [o.finishedBefore]);
      const awaiting = await client.query(DROP_AWAITING, [o.awaitingBefore, o.limit]);
      return { payloads: payloads.rows[0]!.n, awaiting: awaiting.rowCount ?? 0 };
    });
  }

  async listUnhashedEvents(limit: number, afterId = ''): Promise<UnhashedEvent[]> {
    return (await this.pool.query<UnhashedEvent>(UNHASHED_EVENTS, [limit, afterId])).rows;
  }

  async setSubscriberHashes(hashes: readonly { eventId: string; subscriberHash: string }[]): Promise<number> {
    if (hashes.length === 0) return 0;
    const result = await this.pool.query(SET_SUBSCRIBER_HASHES, [hashes.map((h) => h.eventId), hashes.map((h) => h.subscriberHash)]);
    return result.rowCount ?? 0;
  }

  async listUnhashedRegistrations(limit: number): Promise<UnhashedRegistration[]> {
    return (await this.pool.query<UnhashedRegistration>(UNHASHED_REGISTRATIONS, [limit])).rows;
  }

  async setRegistrationSubscriberHashes(hashes: readonly (UnhashedRegistration & { subscriberHash: string })[]): Promise<number> {
    if (hashes.length === 0) return 0;
    const columns = [hashes.map((h) => h.appId), hashes.map((h) => h.clientUuid), hashes.map((h) => h.subscriberId), hashes.map((h) => h.subscriberHash)];
    return (await this.pool.query(SET_REGISTRATION_HASHES, columns)).rowCount ?? 0;
  }
}

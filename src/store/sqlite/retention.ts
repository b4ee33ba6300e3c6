/** Forgetting personal data (SQLite): erasing one person, and the retention sweep. */
import type Database from 'better-sqlite3';
import type { SubscriberRef, UnhashedEvent, UnhashedRegistration } from '../store.js';

// By the keyed hash (registrations_by_subscriber_hash), plus the registrations not backfilled yet
// by the plain value (registrations_without_subscriber_hash, migration 0009): each half its own
// partial index, and no row is in both (one has a hash, the other none).
export const USERS_OF_SUBSCRIBER = `
SELECT client_uuid FROM registrations WHERE app_id = @appId AND subscriber_hash = @hash
UNION ALL
SELECT client_uuid FROM registrations WHERE app_id = @appId AND subscriber_hash IS NULL AND subscriber_id = @id`;

// Erasure cancels what is still owed: an event not delivered yet becomes `erased`, never sent.
// A delivered one keeps its delivery metadata; every one loses its payload.
const ERASE_EVENTS = `
UPDATE events
SET body = NULL,
    subscriber_hash = NULL,
    status = CASE WHEN status = 'delivered' THEN status ELSE 'erased' END,
    next_attempt_at = CASE WHEN status = 'delivered' THEN next_attempt_at END,
    lease_token = CASE WHEN status = 'delivered' THEN lease_token END,
    finished_at = CASE WHEN status = 'delivered' THEN finished_at ELSE @now END
WHERE app_id = @appId AND client_uuid = @clientUuid`;

// A receiver's answer may echo the payload: the response bodies of the user's attempts go too.
const ERASE_ATTEMPT_BODIES = `
UPDATE attempts SET response_body = NULL
WHERE event_id IN (SELECT id FROM events WHERE app_id = ? AND client_uuid = ?)`;

const DELETE_REGISTRATION = `DELETE FROM registrations WHERE app_id = ? AND client_uuid = ?`;

// events_retention (finished_at) WHERE body IS NOT NULL: only events still holding a payload.
const EXPIRED_PAYLOADS = `SELECT id, app_id, client_uuid FROM events WHERE body IS NOT NULL AND finished_at < ? LIMIT ?`;

const DROP_PAYLOAD = `UPDATE events SET body = NULL WHERE id = ?`;

const DROP_ATTEMPT_BODIES = `UPDATE attempts SET response_body = NULL WHERE event_id = ?`;

// The registration stays (it answers repeats) without its payload and subscriber id.
const ANONYMISE_REGISTRATION = `UPDATE registrations SET body = NULL, subscriber_id = NULL WHERE app_id = ? AND client_uuid = ?`;

const DROP_TEST_BODIES = `
UPDATE attempts SET response_body = NULL
WHERE trigger = 'test' AND started_at < ? AND response_body IS NOT NULL`;

// Store users who never bought within the awaiting retention are forgotten: at most `limit` per
// call, through rowid (SQLite's DELETE has no LIMIT of its own without a compile option).
const DROP_AWAITING = `
DELETE FROM registrations WHERE rowid IN (
  SELECT r.rowid FROM registrations r
  WHERE r.store_register = 1 AND r.created_at < ?
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.app_id = r.app_id AND e.client_uuid = r.client_uuid)
  LIMIT ?)`;

// The backfill (migration 0007): events_without_subscriber_hash (id) holds exactly these rows.
const UNHASHED_EVENTS = `
SELECT id AS eventId, app_id AS appId, body FROM events
WHERE subscriber_hash IS NULL AND body IS NOT NULL AND id > ? ORDER BY id LIMIT ?`;

// Only while the payload is there: an event erased in the meantime stays unfindable.
const SET_SUBSCRIBER_HASH = `UPDATE events SET subscriber_hash = ? WHERE id = ? AND subscriber_hash IS NULL AND body IS NOT NULL`;

// The registrations' backfill (migration 0009): registrations_without_subscriber_hash holds exactly
// these rows, and each one filled leaves it, so no cursor is needed.
const UNHASHED_REGISTRATIONS = `
SELECT app_id AS appId, client_uuid AS clientUuid, subscriber_id AS subscriberId FROM registrations
WHERE subscriber_hash IS NULL AND subscriber_id IS NOT NULL LIMIT ?`;

// Only while the subscriberId is still the one hashed (retention may have anonymised it since).
const SET_REGISTRATION_HASH = `
UPDATE registrations SET subscriber_hash = @subscriberHash
WHERE app_id = @appId AND client_uuid = @clientUuid AND subscriber_id = @subscriberId AND subscriber_hash IS NULL`;

export class Retention {
  private readonly usersOfSubscriber;
  private readonly eraseEvents;
  private readonly eraseAttemptBodies;
  private readonly deleteRegistration;
  private readonly expiredPayloads;
  private readonly dropPayload;
  private readonly dropAttemptBodies;
  private readonly anonymiseRegistration;
  private readonly dropTestBodies;
  private readonly dropAwaiting;
  private readonly unhashedEvents;
  private readonly setSubscriberHash;
  private readonly unhashedRegistrations;
  private readonly setRegistrationHash;

  constructor(private readonly db: Database.Database) {
    this.usersOfSubscriber = db.prepare<{ appId: number; hash: string; id: string }, { client_uuid: string }>(USERS_OF_SUBSCRIBER);
    this.eraseEvents = db.prepare<{ appId: number; clientUuid: string; now: number }>(ERASE_EVENTS);
    this.eraseAttemptBodies = db.prepare<[number, string]>(ERASE_ATTEMPT_BODIES);
    this.deleteRegistration = db.prepare<[number, string]>(DELETE_REGISTRATION);
    this.expiredPayloads = db.prepare<[number, number], { id: string; app_id: number; client_uuid: string }>(EXPIRED_PAYLOADS);
    this.dropPayload = db.prepare<[string]>(DROP_PAYLOAD);
    this.dropAttemptBodies = db.prepare<[string]>(DROP_ATTEMPT_BODIES);
    this.anonymiseRegistration = db.prepare<[number, string]>(ANONYMISE_REGISTRATION);
    this.dropTestBodies = db.prepare<[number]>(DROP_TEST_BODIES);
    this.dropAwaiting = db.prepare<[number, number]>(DROP_AWAITING);
    this.unhashedEvents = db.prepare<[string, number], UnhashedEvent>(UNHASHED_EVENTS);
    this.setSubscriberHash = db.prepare<[string, string]>(SET_SUBSCRIBER_HASH);
    this.unhashedRegistrations = db.prepare<[number], UnhashedRegistration>(UNHASHED_REGISTRATIONS);
    this.setRegistrationHash = db.prepare<UnhashedRegistration & { subscriberHash: string }>(SET_REGISTRATION_HASH);
  }

  eraseSubscriber(appId: number, subscriber: SubscriberRef, now: number): { registrations: number; events: number } {
    return this.db
      .transaction(() => {
        let events = 0;
        const users = this.usersOfSubscriber.all({ appId, hash: subscriber.hash, id: subscriber.id });
        for (const { client_uuid } of users) {
          events += this.eraseEvents.run({ appId, clientUuid: client_uuid, now }).changes;
          this.eraseAttemptBodies.run(appId, client_uuid);
          this.deleteRegistration.run(appId, client_uuid);
        }
        return { registrations: users.length, events };
      })
      .immediate();
  }

  sweepRetention(o: { finishedBefore: number; awaitingBefore: number; limit: number }): { payloads: number; awaiting: number } {
    return this.db
      .transaction(() => {
        const expired = this.expiredPayloads.all(o.finishedBefore, o.limit);
        for (const e of expired) {
          this.dropPayload.run(e.id);
          this.dropAttemptBodies.run(e.id);
          this.anonymiseRegistration.run(e.app_id, e.client_uuid);
        }
        this.dropTestBodies.run(o.finishedBefore);
        const awaiting = this.dropAwaiting.run(o.awaitingBefore, o.limit).changes;
        return { payloads: expired.length, awaiting };
      })
      .immediate();
  }

  listUnhashedEvents(limit: number, afterId = ''): UnhashedEvent[] {
    return this.unhashedEvents.all(afterId, limit);
  }

  setSubscriberHashes(hashes: readonly { eventId: string; subscriberHash: string }[]): number {
    return this.db
      .transaction(() => hashes.reduce((n, h) => n + this.setSubscriberHash.run(h.subscriberHash, h.eventId).changes, 0))
      .immediate();
  }

  listUnhashedRegistrations(limit: number): UnhashedRegistration[] {
    return this.unhashedRegistrations.all(limit);
  }

  setRegistrationSubscriberHashes(hashes: readonly (UnhashedRegistration & { subscriberHash: string })[]): number {
    return this.db
      .transaction(() => hashes.reduce((n, h) => n + this.setRegistrationHash.run({ appId: h.appId, clientUuid: h.clientUuid, subscriberId: h.subscriberId, subscriberHash: h.subscriberHash }).changes, 0))
      .immediate();
  }
}

/**
 * Ingest (PostgreSQL): one transaction per report, under a transaction-scoped advisory lock on the
 * user `(appId, clientUuid)`, so a registration and a first purchase racing in two processes cannot
 * both miss each other. The lock is taken first, then everything the decision of domain/ingest.ts
 * needs is read, and the decision is applied. "Exactly one event per user" itself is the unique
 * constraint (`INSERT … ON CONFLICT DO NOTHING`), not the lock.
 *
 * Round trips are what a report costs here (each one a socket write and a wake-up on both sides):
 * a registration takes four — BEGIN, the lock and its context in one call (migration 0010), its
 * event and its row in one statement, COMMIT.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { decidePurchaseReport, decideRegistration, purchaseAnswer, registrationAnswer, type EventToCreate, type PurchaseState } from '../../domain/ingest.js';
import type { EventStatus } from '../../domain/retry-policy.js';
import type { PurchaseAnswer, RegistrationAnswer } from '../../domain/triggers.js';
import { ReghookError } from '../../errors.js';
import { asRepeat } from '../invariants.js';
import type { IndexedRegistration, PurchaseReport, PurchaseResult, RegistrationResult } from '../store.js';
import type { Recorded } from '../work-signal.js';
import { inTransaction, type Queryable } from './connection.js';

/** Serialises ingest for one user across processes; released at commit or rollback. */
const LOCK_USER = { name: 'lock_user', text: `SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))` };

// Takes the user's lock, then reads everything a registration's decision needs (one row), in one
// round trip: the function (migration 0010) reads after the lock with a fresh snapshot.
const REGISTRATION_CONTEXT = { name: 'registration_context', text: `SELECT * FROM registration_context($1::int, $2::text)` };

// DO NOTHING: should an identical report have won the race, this transaction is rolled back
// (LostInsertRace) and answered as a repeat of the winner.
const INSERT_REGISTRATION = {
  name: 'insert_registration',
  text: `
INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, subscriber_hash, body, answer, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (app_id, client_uuid) DO NOTHING`,
};

// A registration that fires: its event and its row in one statement, the answer naming the new
// event. Should the user already have an event (ON CONFLICT did nothing), the registration is not
// inserted either (created = 0): ingest then answers with the event that exists, as createEvent does.
const INSERT_REGISTRATION_WITH_EVENT = {
  name: 'insert_registration_with_event',
  text: `
WITH event AS (
  INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at, finished_at, subscriber_hash)
  VALUES ($9, $1, $2, $6, $10, $11, $8, CASE WHEN $10 = 'skipped' THEN $8::bigint END, $5)
  ON CONFLICT (app_id, client_uuid) DO NOTHING RETURNING 1
), registration AS (
  INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, subscriber_hash, body, answer, created_at)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM event)
  ON CONFLICT (app_id, client_uuid) DO NOTHING RETURNING 1
)
SELECT (SELECT count(*) FROM event)::int AS created, (SELECT count(*) FROM registration)::int AS registered`,
};

const GET_REGISTRATION = { name: 'get_registration', text: `SELECT body, answer FROM registrations WHERE app_id = $1 AND client_uuid = $2` };

// A purchase's decision, as REGISTRATION_CONTEXT; the purchase is found by its transactionId ($3).
const PURCHASE_CONTEXT = {
  name: 'purchase_context',
  text: `
SELECT EXISTS (SELECT 1 FROM projects WHERE app_id = $1) AS project_exists,
       (SELECT enabled FROM endpoints WHERE app_id = $1) AS endpoint_enabled,
       EXISTS (SELECT 1 FROM events WHERE app_id = $1 AND client_uuid = $2) AS event_exists,
       pu.client_uuid AS purchased_by, pu.answer
FROM (SELECT 1) AS one
LEFT JOIN purchases pu ON pu.app_id = $1 AND pu.transaction_id = $3`,
};

// FOR SHARE: erasure and the awaiting-retention sweep cannot remove this registration while this
// transaction turns it into an event (they wait, or skip it).
const REGISTRATION_FOR_PURCHASE = {
  name: 'registration_for_purchase',
  text: `SELECT store_register, body, subscriber_hash FROM registrations WHERE app_id = $1 AND client_uuid = $2 FOR SHARE`,
};

// Keyed on the transactionId, not the user: two users' reports of one transactionId take different
// user locks, and this constraint decides between them.
const INSERT_PURCHASE = {
  name: 'insert_purchase',
  text: `
INSERT INTO purchases (app_id, transaction_id, client_uuid, purchase_date, answer, created_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_id, transaction_id) DO NOTHING`,
};

const GET_PURCHASE = { name: 'get_purchase', text: `SELECT client_uuid, answer FROM purchases WHERE app_id = $1 AND transaction_id = $2` };

// The unique (app_id, client_uuid) constraint turns a second creation into a no-op. A skipped event
// is finished at once.
const INSERT_EVENT = {
  name: 'insert_event',
  text: `
INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at, finished_at, subscriber_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $5 = 'skipped' THEN $7::bigint END, $8)
ON CONFLICT (app_id, client_uuid) DO NOTHING`,
};

const EVENT_BY_USER = { name: 'event_by_user', text: `SELECT id, status FROM events WHERE app_id = $1 AND client_uuid = $2` };

interface RegistrationContextRow {
  project_exists: boolean;
  endpoint_enabled: boolean | null;
  purchased: boolean;
  registered: boolean;
  body: string | null;
  answer: string | null;
}

interface PurchaseContextRow {
  project_exists: boolean;
  endpoint_enabled: boolean | null;
  event_exists: boolean;
  purchased_by: string | null;
  answer: string | null;
}

/**
 * Thrown inside an ingest transaction whose registration/purchase row lost the insert race to a
 * concurrent identical report: the transaction (and any event it created) is rolled back and the
 * winner's stored answer is read instead.
 */
class LostInsertRace extends Error {}

export class Ingest {
  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  async recordRegistration(reg: IndexedRegistration, newEventId: string, now: number): Promise<Recorded<RegistrationResult>> {
    try {
      return await inTransaction(this.pool, this.logger, (client) => this.registerInTransaction(client, reg, newEventId, now));
    } catch (error) {
      if (!(error instanceof LostInsertRace)) throw error;
      return { result: await this.winningRegistration(reg), announce: false };
    }
  }

  async recordPurchase(p: PurchaseReport, newEventId: string, now: number): Promise<Recorded<PurchaseResult>> {
    try {
      return await inTransaction(this.pool, this.logger, (client) => this.purchaseInTransaction(client, p, newEventId, now));
    } catch (error) {
      if (!(error instanceof LostInsertRace)) throw error;
      return { result: await this.winningPurchase(p), announce: false };
    }
  }

  private async registerInTransaction(client: Queryable, reg: IndexedRegistration, newEventId: string, now: number): Promise<Recorded<RegistrationResult>> {
    const ctx = (await client.query<RegistrationContextRow>({ ...REGISTRATION_CONTEXT, values: [reg.appId, reg.clientUuid] })).rows[0]!;
    const decision = decideRegistration(
      {
        projectExists: ctx.project_exists,
        endpointEnabled: ctx.endpoint_enabled === true,
        registration: ctx.registered ? { body: ctx.body, answer: JSON.parse(ctx.answer!) as RegistrationAnswer } : null,
        purchased: ctx.purchased,
      },
      reg,
    );
    if (decision.kind !== 'record') return { result: decision, announce: false };
    const hash = reg.subscriberHash ?? null;
    if (decision.event !== null) {
      // The usual case: the new event and the registration in one round trip.
      const { status, body } = decision.event;
      const answer = registrationAnswer({ eventId: newEventId, status });
      const row = (
        await client.query<{ created: number; registered: number }>({
          ...INSERT_REGISTRATION_WITH_EVENT,
          values: [reg.appId, reg.clientUuid, reg.storeRegister, reg.subscriberId, hash, body, JSON.stringify(answer), now, newEventId, status, status === 'pending' ? now : null],
        })
      ).rows[0]!;
      if (row.created === 1) {
        if (row.registered !== 1) throw new LostInsertRace();
        return { result: { kind: 'created', answer }, announce: status === 'pending' };
      }
    }
    const answer = registrationAnswer(decision.event && (await createEvent(client, reg.appId, reg.clientUuid, hash, decision.event, newEventId, now)));
    const inserted = await client.query({
      ...INSERT_REGISTRATION,
      values: [reg.appId, reg.clientUuid, reg.storeRegister, reg.subscriberId, hash, reg.body, JSON.stringify(answer), now],
    });
    if (inserted.rowCount !== 1) throw new LostInsertRace();
    return { result: { kind: 'created', answer }, announce: answer.status === 'pending' };
  }

  private async purchaseInTransaction(client: Queryable, p: PurchaseReport, newEventId: string, now: number): Promise<Recorded<PurchaseResult>> {
    await client.query({ ...LOCK_USER, values: [p.appId, p.clientUuid] });
    const ctx = (await client.query<PurchaseContextRow>({ ...PURCHASE_CONTEXT, values: [p.appId, p.clientUuid, p.transactionId] })).rows[0]!;
    const registration = (
      await client.query<{ store_register: boolean; body: string | null; subscriber_hash: string | null }>({ ...REGISTRATION_FOR_PURCHASE, values: [p.appId, p.clientUuid] })
    ).rows[0];
    const state: PurchaseState = {
      projectExists: ctx.project_exists,
      endpointEnabled: ctx.endpoint_enabled === true,
      purchase: ctx.purchased_by !== null ? { clientUuid: ctx.purchased_by, answer: JSON.parse(ctx.answer!) as PurchaseAnswer } : null,
      registration: registration ? { storeRegister: registration.store_register, body: registration.body } : null,
      eventExists: ctx.event_exists,
    };
    const decision = decidePurchaseReport(state, p.clientUuid);
    if (decision.kind !== 'record') return { result: decision, announce: false };
    // A store user's event is found by the subscriberId of their registration.
    const event = decision.event && (await createEvent(client, p.appId, p.clientUuid, registration?.subscriber_hash ?? null, decision.event, newEventId, now));
    const answer = purchaseAnswer(state, event);
    const inserted = await client.query({
      ...INSERT_PURCHASE,
      values: [p.appId, p.transactionId, p.clientUuid, p.purchaseDate, JSON.stringify(answer), now],
    });
    if (inserted.rowCount !== 1) throw new LostInsertRace();
    // A skipped event wakes nobody.
    return { result: { kind: 'created', answer }, announce: event?.status === 'pending' };
  }

  /** The answer to a registration that lost its insert race: a repeat of the winner's (or a conflict). */
  private async winningRegistration(reg: IndexedRegistration): Promise<RegistrationResult> {
    const { rows } = await this.pool.query<{ body: string | null; answer: string }>({ ...GET_REGISTRATION, values: [reg.appId, reg.clientUuid] });
    const winner = rows[0];
    if (!winner) {
      throw new ReghookError('REGHOOK_CONCURRENT_CHANGE', 'an identical registration recorded at the same moment was erased before its answer could be read; nothing was stored: send it again');
    }
    const registration = { body: winner.body, answer: JSON.parse(winner.answer) as RegistrationAnswer };
    return asRepeat(decideRegistration({ projectExists: true, endpointEnabled: false, registration, purchased: false }, reg), 'registration');
  }

  /** The answer to a purchase that lost its insert race: a repeat of the winner's, or a conflict (another user's). */
  private async winningPurchase(p: PurchaseReport): Promise<PurchaseResult> {
    const { rows } = await this.pool.query<{ client_uuid: string; answer: string }>({ ...GET_PURCHASE, values: [p.appId, p.transactionId] });
    const winner = rows[0];
    if (!winner) {
      throw new ReghookError('REGHOOK_CONCURRENT_CHANGE', 'a purchase with this transactionId recorded at the same moment is gone; nothing was stored: send it again');
    }
    const purchase = { clientUuid: winner.client_uuid, answer: JSON.parse(winner.answer) as PurchaseAnswer };
    return asRepeat(decidePurchaseReport({ projectExists: true, endpointEnabled: false, purchase, registration: null, eventExists: false }, p.clientUuid), 'purchase');
  }
}

/** Creates the user's event unless one exists; answers the event that exists afterwards. */
async function createEvent(
  client: Queryable,
  appId: number,
  clientUuid: string,
  subscriberHash: string | null,
  event: EventToCreate,
  eventId: string,
  now: number,
): Promise<{ eventId: string; status: 'pending' | 'skipped' }> {
  const { status, body } = event;
  const due = status === 'pending' ? now : null;
  const inserted = await client.query({ ...INSERT_EVENT, values: [eventId, appId, clientUuid, body, status, due, now, subscriberHash] });
  if (inserted.rowCount === 1) return { eventId, status };
  const { rows } = await client.query<{ id: string; status: EventStatus }>({ ...EVENT_BY_USER, values: [appId, clientUuid] });
  const existing = rows[0]!;
  return { eventId: existing.id, status: existing.status === 'skipped' ? 'skipped' : 'pending' };
}

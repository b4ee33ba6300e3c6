/**
 * Ingest (PostgreSQL): each report is decided under a transaction-scoped advisory lock on the user
 * `(appId, clientUuid)`, so a registration and a first purchase racing in two processes cannot
 * both miss each other. The lock is taken first, then everything the decision of domain/ingest.ts
 * needs is read, and the decision is applied. "Exactly one event per user" itself is the unique
 * constraint (`INSERT … ON CONFLICT DO NOTHING`), not the lock.
 *
 * Round trips are what a report costs here (each one a socket write and a wake-up on both sides),
 * so registrations are group-committed: those that arrive while the batches before them are in
 * flight share one transaction of four round trips — BEGIN, every user's lock and context in one
 * call (migration 0010), every event and registration row in one statement, COMMIT. A batch that
 * meets anything unusual (a user with an event already, a lost insert race, an error) is rolled
 * back and its reports are recorded one by one, each in a transaction of its own. A purchase is
 * one transaction of its own: BEGIN, its lock and context in one call, its event if it fires, its
 * row, COMMIT.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { decidePurchaseReport, decideRegistration, purchaseAnswer, registrationAnswer, type EventToCreate, type PurchaseState } from '../../domain/ingest.js';
import type { EventStatus } from '../../domain/retry-policy.js';
import type { PurchaseAnswer, RegistrationAnswer } from '../../domain/triggers.js';
import { isDatabaseUnavailable, ReghookError } from '../../errors.js';
import { asRepeat } from '../invariants.js';
import type { IndexedRegistration, PurchaseReport, PurchaseResult, RegistrationResult } from '../store.js';
import type { Recorded } from '../work-signal.js';
import { inTransaction, type Queryable } from './connection.js';


// Takes every user's lock, then reads everything each registration's decision needs (one row per
// user, in input order), in one round trip: the function (migration 0010) reads after the locks.
const REGISTRATION_CONTEXTS = { name: 'registration_contexts', text: `SELECT * FROM registration_contexts($1::int[], $2::text[])` };

// DO NOTHING: should an identical report have won the race, this transaction is rolled back
// (LostInsertRace) and answered as a repeat of the winner.
const INSERT_REGISTRATION = {
  name: 'insert_registration',
  text: `
INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, subscriber_hash, body, answer, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (app_id, client_uuid) DO NOTHING`,
};

// A batch's events and registration rows in one statement. ON CONFLICT DO NOTHING, then counted:
// fewer rows than asked for (the user had an event, an identical report won a race) and the batch
// is rolled back and recorded report by report. A skipped event is finished at once.
const INSERT_BATCH = {
  name: 'insert_batch',
  text: `
WITH event AS (
  INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at, finished_at, subscriber_hash)
  SELECT e.id, e.app_id, e.client_uuid, e.body, e.status,
         CASE WHEN e.status = 'pending' THEN e.now END, e.now, CASE WHEN e.status = 'skipped' THEN e.now END, e.hash
  FROM unnest($9::text[], $10::int[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bigint[]) AS e(id, app_id, client_uuid, body, status, hash, now)
  ON CONFLICT (app_id, client_uuid) DO NOTHING RETURNING 1
), registration AS (
  INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, subscriber_hash, body, answer, created_at)
  SELECT r.app_id, r.client_uuid, r.store_register, r.subscriber_id, r.hash, r.body, r.answer, r.now
  FROM unnest($1::int[], $2::text[], $3::boolean[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) AS r(app_id, client_uuid, store_register, subscriber_id, hash, body, answer, now)
  ON CONFLICT (app_id, client_uuid) DO NOTHING RETURNING 1
)
SELECT (SELECT count(*) FROM event)::int AS events, (SELECT count(*) FROM registration)::int AS registrations`,
};

const GET_REGISTRATION = { name: 'get_registration', text: `SELECT body, answer FROM registrations WHERE app_id = $1 AND client_uuid = $2` };

// Takes the user's lock, then reads everything a purchase's decision needs, its registration
// FOR SHARE included, in one round trip (migration 0010).
const PURCHASE_CONTEXT = { name: 'purchase_context', text: `SELECT * FROM purchase_context($1::int, $2::text, $3::text)` };

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

/** What decideRegistration needs, from a row of registration_contexts. */
function contextState(ctx: RegistrationContextRow) {
  return {
    projectExists: ctx.project_exists,
    endpointEnabled: ctx.endpoint_enabled === true,
    registration: ctx.registered ? { body: ctx.body, answer: JSON.parse(ctx.answer!) as RegistrationAnswer } : null,
    purchased: ctx.purchased,
  };
}

interface PurchaseContextRow {
  project_exists: boolean;
  endpoint_enabled: boolean | null;
  event_exists: boolean;
  purchased_by: string | null;
  answer: string | null;
  registered: boolean;
  store_register: boolean | null;
  registration_body: string | null;
  subscriber_hash: string | null;
}

/**
 * Thrown inside an ingest transaction whose registration/purchase row lost the insert race to a
 * concurrent identical report: the transaction (and any event it created) is rolled back and the
 * winner's stored answer is read instead.
 */
class LostInsertRace extends Error {}

/** Thrown inside a batch's transaction that stored fewer rows than it decided: rolled back, recorded report by report. */
class BatchMismatch extends Error {}

/**
 * The most registrations one batch's transaction records: each holds its user's advisory lock, and
 * 64 is PostgreSQL's default max_locks_per_transaction (the lock table's share per connection).
 * Batches are far smaller under any load measured (a batch holds what arrives in one commit's time).
 */
const MAX_BATCH = 64;

/**
 * Batches in flight at once per process. While they are, reports queue for the next one (group
 * commit): a batch holds what arrived during the one before, not only what arrived in one turn.
 * More than one, so a batch waiting on a user's lock (held by another process) does not hold up
 * every report behind it.
 */
const BATCHES_IN_FLIGHT = 2;

interface QueuedRegistration {
  reg: IndexedRegistration;
  newEventId: string;
  now: number;
  resolve: (recorded: Recorded<RegistrationResult>) => void;
  reject: (error: unknown) => void;
}

export class Ingest {
  private queue: QueuedRegistration[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  /** Queued for the next batch (see the header); answers once the batch (or the report alone) is committed. */
  recordRegistration(reg: IndexedRegistration, newEventId: string, now: number): Promise<Recorded<RegistrationResult>> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ reg, newEventId, now, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < BATCHES_IN_FLIGHT) {
      this.inFlight++;
      void this.recordBatch(this.queue.splice(0, MAX_BATCH)).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async recordBatch(items: QueuedRegistration[]): Promise<void> {
    // A user reported twice in one batch: the first goes in the batch, the repeat after it commits.
    const seen = new Set<string>();
    const batch: QueuedRegistration[] = [];
    const after: QueuedRegistration[] = [];
    for (const item of items) {
      const user = `${item.reg.appId}:${item.reg.clientUuid}`;
      (seen.has(user) ? after : batch).push(item);
      seen.add(user);
    }
    try {
      const recorded = await inTransaction(this.pool, this.logger, (client) => this.registerBatch(client, batch));
      batch.forEach((item, i) => item.resolve(recorded[i]!));
    } catch (error) {
      // The database is unreachable, or the report was alone: that is each report's answer. Any
      // other failure of a batch (rolled back whole) is retried report by report.
      if (!(error instanceof BatchMismatch) && (batch.length === 1 || isDatabaseUnavailable(error))) for (const item of batch) item.reject(error);
      else after.unshift(...batch);
    }
    // Concurrently: reports of one user queue on its lock, and each sees the one before it.
    await Promise.all(after.map((item) => this.recordOne(item.reg, item.newEventId, item.now).then(item.resolve, item.reject)));
  }

  /** One transaction for the batch: every lock and context in one call, the decisions, every row in one statement. */
  private async registerBatch(client: Queryable, items: readonly QueuedRegistration[]): Promise<Recorded<RegistrationResult>[]> {
    const contexts = (
      await client.query<RegistrationContextRow>({ ...REGISTRATION_CONTEXTS, values: [items.map((i) => i.reg.appId), items.map((i) => i.reg.clientUuid)] })
    ).rows;
    const registrations: { item: QueuedRegistration; answer: RegistrationAnswer }[] = [];
    const events: { item: QueuedRegistration; status: 'pending' | 'skipped'; body: string }[] = [];
    const recorded = items.map(({ reg, newEventId }, i): Recorded<RegistrationResult> => {
      const decision = decideRegistration(contextState(contexts[i]!), reg);
      if (decision.kind !== 'record') return { result: decision, announce: false };
      const answer = registrationAnswer(decision.event && { eventId: newEventId, status: decision.event.status });
      registrations.push({ item: items[i]!, answer });
      if (decision.event !== null) events.push({ item: items[i]!, ...decision.event });
      return { result: { kind: 'created', answer }, announce: decision.event?.status === 'pending' };
    });
    if (registrations.length === 0) return recorded;
    const row = (
      await client.query<{ events: number; registrations: number }>({
        ...INSERT_BATCH,
        values: [
          registrations.map((r) => r.item.reg.appId),
          registrations.map((r) => r.item.reg.clientUuid),
          registrations.map((r) => r.item.reg.storeRegister),
          registrations.map((r) => r.item.reg.subscriberId),
          registrations.map((r) => r.item.reg.subscriberHash ?? null),
          registrations.map((r) => r.item.reg.body),
          registrations.map((r) => JSON.stringify(r.answer)),
          registrations.map((r) => r.item.now),
          events.map((e) => e.item.newEventId),
          events.map((e) => e.item.reg.appId),
          events.map((e) => e.item.reg.clientUuid),
          events.map((e) => e.body),
          events.map((e) => e.status),
          events.map((e) => e.item.reg.subscriberHash ?? null),
          events.map((e) => e.item.now),
        ],
      })
    ).rows[0]!;
    if (row.events !== events.length || row.registrations !== registrations.length) throw new BatchMismatch();
    return recorded;
  }

  /** One report in a transaction of its own: the path for whatever a batch could not record. */
  private async recordOne(reg: IndexedRegistration, newEventId: string, now: number): Promise<Recorded<RegistrationResult>> {
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
    const ctx = (await client.query<RegistrationContextRow>({ ...REGISTRATION_CONTEXTS, values: [[reg.appId], [reg.clientUuid]] })).rows[0]!;
    const decision = decideRegistration(contextState(ctx), reg);
    if (decision.kind !== 'record') return { result: decision, announce: false };
    const hash = reg.subscriberHash ?? null;
    const answer = registrationAnswer(decision.event && (await createEvent(client, reg.appId, reg.clientUuid, hash, decision.event, newEventId, now)));
    const inserted = await client.query({
      ...INSERT_REGISTRATION,
      values: [reg.appId, reg.clientUuid, reg.storeRegister, reg.subscriberId, hash, reg.body, JSON.stringify(answer), now],
    });
    if (inserted.rowCount !== 1) throw new LostInsertRace();
    return { result: { kind: 'created', answer }, announce: answer.status === 'pending' };
  }

  private async purchaseInTransaction(client: Queryable, p: PurchaseReport, newEventId: string, now: number): Promise<Recorded<PurchaseResult>> {
    const ctx = (await client.query<PurchaseContextRow>({ ...PURCHASE_CONTEXT, values: [p.appId, p.clientUuid, p.transactionId] })).rows[0]!;
    const state: PurchaseState = {
      projectExists: ctx.project_exists,
      endpointEnabled: ctx.endpoint_enabled === true,
      purchase: ctx.purchased_by !== null ? { clientUuid: ctx.purchased_by, answer: JSON.parse(ctx.answer!) as PurchaseAnswer } : null,
      registration: ctx.registered ? { storeRegister: ctx.store_register!, body: ctx.registration_body } : null,
      eventExists: ctx.event_exists,
    };
    const decision = decidePurchaseReport(state, p.clientUuid);
    if (decision.kind !== 'record') return { result: decision, announce: false };
    // A store user's event is found by the subscriberId of their registration.
    const event = decision.event && (await createEvent(client, p.appId, p.clientUuid, ctx.subscriber_hash, decision.event, newEventId, now));
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

/**
 * Ingest (SQLite): loads what the decision of domain/ingest.ts needs about one user, and applies
 * it. Runs inside the store's group commit (one savepoint per report in one BEGIN IMMEDIATE
 * transaction), so reports are decided strictly one after another and see each other's writes.
 */
import type Database from 'better-sqlite3';
import { decidePurchaseReport, decideRegistration, purchaseAnswer, registrationAnswer, type EventToCreate, type PurchaseState } from '../../domain/ingest.js';
import type { EventStatus } from '../../domain/retry-policy.js';
import type { PurchaseAnswer, RegistrationAnswer } from '../../domain/triggers.js';
import type { IndexedRegistration, PurchaseReport, PurchaseResult, RegistrationResult } from '../store.js';
import type { Recorded } from '../work-signal.js';
import type { Endpoints } from './endpoints.js';
import type { Projects } from './projects.js';

const GET_REGISTRATION = `SELECT store_register, body, answer, subscriber_hash FROM registrations WHERE app_id = ? AND client_uuid = ?`;

const INSERT_REGISTRATION = `
INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, subscriber_hash, body, answer, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

// Whether the user bought before registering: purchases_by_user answers it.
const PURCHASE_EXISTS = `SELECT 1 AS one FROM purchases WHERE app_id = ? AND client_uuid = ? LIMIT 1`;

const GET_PURCHASE = `SELECT client_uuid, answer FROM purchases WHERE app_id = ? AND transaction_id = ?`;

const INSERT_PURCHASE = `
INSERT INTO purchases (app_id, transaction_id, client_uuid, purchase_date, answer, created_at)
VALUES (?, ?, ?, ?, ?, ?)`;

// The unique (app_id, client_uuid) constraint turns a second creation into a no-op: exactly one
// event per user is the database's guarantee, not this code's. A skipped event is finished at once.
const INSERT_EVENT = `
INSERT INTO events (id, app_id, client_uuid, subscriber_hash, body, status, next_attempt_at, created_at, finished_at)
VALUES (@id, @appId, @clientUuid, @subscriberHash, @body, @status, @due, @now, CASE WHEN @status = 'skipped' THEN @now END)
ON CONFLICT (app_id, client_uuid) DO NOTHING`;

const EVENT_BY_USER = `SELECT id, status FROM events WHERE app_id = ? AND client_uuid = ?`;

export class Ingest {
  private readonly getRegistration;
  private readonly insertRegistration;
  private readonly purchaseExists;
  private readonly getPurchase;
  private readonly insertPurchase;
  private readonly insertEvent;
  private readonly eventByUser;

  constructor(
    db: Database.Database,
    private readonly projects: Projects,
    private readonly endpoints: Endpoints,
  ) {
    this.getRegistration = db.prepare<[number, string], { store_register: number; body: string | null; answer: string; subscriber_hash: string | null }>(GET_REGISTRATION);
    this.insertRegistration = db.prepare<[number, string, number, string | null, string | null, string, string, number]>(INSERT_REGISTRATION);
    this.purchaseExists = db.prepare<[number, string], { one: number }>(PURCHASE_EXISTS);
    this.getPurchase = db.prepare<[number, string], { client_uuid: string; answer: string }>(GET_PURCHASE);
    this.insertPurchase = db.prepare<[number, string, string, number | null, string, number]>(INSERT_PURCHASE);
    this.insertEvent = db.prepare<Record<string, unknown>>(INSERT_EVENT);
    this.eventByUser = db.prepare<[number, string], { id: string; status: EventStatus }>(EVENT_BY_USER);
  }

  /** Decides and records one registration; call inside the group commit. */
  recordRegistration(reg: IndexedRegistration, newEventId: string, now: number): Recorded<RegistrationResult> {
    const recorded = this.getRegistration.get(reg.appId, reg.clientUuid);
    const decision = decideRegistration(
      {
        ...this.projectState(reg.appId),
        registration: recorded ? { body: recorded.body, answer: JSON.parse(recorded.answer) as RegistrationAnswer } : null,
        purchased: this.purchaseExists.get(reg.appId, reg.clientUuid) !== undefined,
      },
      reg,
    );
    if (decision.kind !== 'record') return { result: decision, announce: false };
    const hash = reg.subscriberHash ?? null;
    const answer = registrationAnswer(decision.event && this.createEvent(reg.appId, reg.clientUuid, hash, decision.event, newEventId, now));
    this.insertRegistration.run(reg.appId, reg.clientUuid, reg.storeRegister ? 1 : 0, reg.subscriberId, hash, reg.body, JSON.stringify(answer), now);
    return { result: { kind: 'created', answer }, announce: answer.status === 'pending' };
  }

  /** Decides and records one purchase; call inside the group commit. */
  recordPurchase(p: PurchaseReport, newEventId: string, now: number): Recorded<PurchaseResult> {
    const recorded = this.getPurchase.get(p.appId, p.transactionId);
    const registration = this.getRegistration.get(p.appId, p.clientUuid);
    const state: PurchaseState = {
      ...this.projectState(p.appId),
      purchase: recorded ? { clientUuid: recorded.client_uuid, answer: JSON.parse(recorded.answer) as PurchaseAnswer } : null,
      registration: registration ? { storeRegister: registration.store_register === 1, body: registration.body } : null,
      eventExists: this.eventByUser.get(p.appId, p.clientUuid) !== undefined,
    };
    const decision = decidePurchaseReport(state, p.clientUuid);
    if (decision.kind !== 'record') return { result: decision, announce: false };
    // A store user's event is found by the subscriberId of their registration.
    const event = decision.event && this.createEvent(p.appId, p.clientUuid, registration?.subscriber_hash ?? null, decision.event, newEventId, now);
    const answer = purchaseAnswer(state, event);
    this.insertPurchase.run(p.appId, p.transactionId, p.clientUuid, p.purchaseDate, JSON.stringify(answer), now);
    return { result: { kind: 'created', answer }, announce: event?.status === 'pending' };
  }

  /** Creates the user's event unless one exists; answers the event that exists afterwards. */
  private createEvent(appId: number, clientUuid: string, subscriberHash: string | null, event: EventToCreate, eventId: string, now: number) {
    const due = event.status === 'pending' ? now : null;
    const info = this.insertEvent.run({ id: eventId, appId, clientUuid, subscriberHash, body: event.body, status: event.status, due, now });
    if (info.changes === 1) return { eventId, status: event.status };
    const existing = this.eventByUser.get(appId, clientUuid)!;
    return { eventId: existing.id, status: existing.status === 'skipped' ? ('skipped' as const) : ('pending' as const) };
  }

  /** Whether the project exists and has an enabled endpoint, for the ingest decision. */
  private projectState(appId: number) {
    return { projectExists: this.projects.projectExists(appId), endpointEnabled: this.endpoints.row(appId)?.enabled === 1 };
  }
}

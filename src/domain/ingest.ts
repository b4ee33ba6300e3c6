/**
 * The whole ingest decision of SPEC sections 2 and 5, as pure functions: from what is recorded of
 * one user `(appId, clientUuid)` (read by the store inside the report's transaction) and the
 * report, what to answer and what to write. Each store only loads the state, applies the decision
 * in the same transaction, and lets the unique constraint on events make "one event per user" true.
 */
import type { NormalizedRegistration } from './registration.js';
import { decidePurchase, initialEventStatus, registrationFires, type PurchaseAnswer, type RegistrationAnswer } from './triggers.js';

/** The event a decision asks to create (unless the user already has one: then that one stands). */
export interface EventToCreate {
  status: 'pending' | 'skipped';
  /** The exact bytes every attempt sends. */
  body: string;
}

export interface RegistrationState {
  projectExists: boolean;
  endpointEnabled: boolean;
  /** This user's recorded registration: its canonical body (null once erased or past retention) and first answer. */
  registration: { body: string | null; answer: RegistrationAnswer } | null;
  /** A purchase of this user was reported before the registration. */
  purchased: boolean;
}

export type Decision<Answer> =
  | { kind: 'repeat'; answer: Answer }
  | { kind: 'conflict' }
  | { kind: 'unknown_app' }
  /** Record the report, creating `event` first when it is not null. */
  | { kind: 'record'; event: EventToCreate | null };

/** A registration: the original answer again, a conflict (other data), an unknown app, or what to record. */
export function decideRegistration(state: RegistrationState, report: NormalizedRegistration): Decision<RegistrationAnswer> {
  if (state.registration !== null) {
    // A body erased or past retention can no longer be compared: the original answer stands.
    if (state.registration.body !== null && state.registration.body !== report.body) return { kind: 'conflict' };
    return { kind: 'repeat', answer: state.registration.answer };
  }
  if (!state.projectExists) return { kind: 'unknown_app' };
  if (!registrationFires(report.storeRegister, state.purchased)) return { kind: 'record', event: null };
  return { kind: 'record', event: { status: initialEventStatus(state.endpointEnabled), body: report.body } };
}

/** The answer to a recorded registration, given the user's event afterwards (the created one, or the one that existed). */
export function registrationAnswer(event: { eventId: string; status: 'pending' | 'skipped' } | null): RegistrationAnswer {
  return event ?? { eventId: null, status: 'awaiting_first_purchase' };
}

export interface PurchaseState {
  projectExists: boolean;
  endpointEnabled: boolean;
  /** The purchase already recorded under this transactionId: whose it was, and its first answer. */
  purchase: { clientUuid: string; answer: PurchaseAnswer } | null;
  /** This user's registration, if reported. */
  registration: { storeRegister: boolean; body: string | null } | null;
  eventExists: boolean;
}

/** A purchase: the original answer again, a conflict (the transactionId is another user's), an unknown app, or what to record. */
export function decidePurchaseReport(state: PurchaseState, clientUuid: string): Decision<PurchaseAnswer> {
  if (state.purchase !== null) {
    if (state.purchase.clientUuid !== clientUuid) return { kind: 'conflict' };
    return { kind: 'repeat', answer: state.purchase.answer };
  }
  if (!state.projectExists) return { kind: 'unknown_app' };
  const decision = decidePurchase(state.registration, state.eventExists);
  if (!decision.fire) return { kind: 'record', event: null };
  // A store user awaiting a first purchase always has its body: retention drops bodies of users
  // whose event exists (then this is not a first purchase), and erasure drops the registration.
  const body = state.registration?.body;
  if (body === undefined || body === null) throw new Error('a store registration awaiting its first purchase has no body');
  return { kind: 'record', event: { status: initialEventStatus(state.endpointEnabled), body } };
}

/** The answer to a recorded purchase, given the event it created (or null when it fired nothing). */
export function purchaseAnswer(state: PurchaseState, event: { eventId: string } | null): PurchaseAnswer {
  if (event !== null) return { triggered: true, eventId: event.eventId };
  const decision = decidePurchase(state.registration, state.eventExists);
  if (decision.fire) throw new Error('purchaseAnswer: a firing purchase needs its event');
  return { triggered: false, reason: decision.reason };
}

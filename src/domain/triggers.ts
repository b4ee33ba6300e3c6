/**
 * The trigger rules of SPEC section 2 as pure functions of what is already recorded for one user
 * `(appId, clientUuid)`. The store runs them inside the transaction that records the report; the
 * unique constraint on events (appId, clientUuid) is what finally makes "one event per user" true.
 */

export type RegistrationAnswer =
  | { eventId: string; status: 'pending' | 'skipped' }
  | { eventId: null; status: 'awaiting_first_purchase' };

export type PurchaseAnswer =
  | { triggered: true; eventId: string }
  | { triggered: false; reason: 'not_first_purchase' | 'self_service_user' | 'awaiting_registration' };

/** A new registration fires at once for Self Service, and for a store user whose purchase came first. */
export function registrationFires(storeRegister: boolean, purchaseAlreadyReported: boolean): boolean {
  return !storeRegister || purchaseAlreadyReported;
}

export type PurchaseDecision =
  | { fire: true }
  | { fire: false; reason: 'not_first_purchase' | 'self_service_user' | 'awaiting_registration' };

/** A new purchase fires only as the first purchase of a registered store user. */
export function decidePurchase(
  registration: { storeRegister: boolean } | null,
  eventExists: boolean,
): PurchaseDecision {
  if (registration === null) return { fire: false, reason: 'awaiting_registration' };
  if (!registration.storeRegister) return { fire: false, reason: 'self_service_user' };
  if (eventExists) return { fire: false, reason: 'not_first_purchase' };
  return { fire: true };
}

/** HTTP status of a first answer: 202 when something was queued or is awaited, 200 when nothing will happen. */
export function purchaseAnswerStatus(answer: PurchaseAnswer): 200 | 202 {
  if (answer.triggered) return 202;
  return answer.reason === 'awaiting_registration' ? 202 : 200;
}

/** The status a newly created event starts in: queued only when the project has an enabled endpoint. */
export function initialEventStatus(endpointEnabled: boolean): 'pending' | 'skipped' {
  return endpointEnabled ? 'pending' : 'skipped';
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decidePurchaseReport, decideRegistration, purchaseAnswer, registrationAnswer, type PurchaseState, type RegistrationState } from '../../src/domain/ingest.js';
import type { NormalizedRegistration } from '../../src/domain/registration.js';

const report = (storeRegister: boolean, body = '{"a":1}'): NormalizedRegistration => ({ appId: 1, clientUuid: 'u', storeRegister, subscriberId: 's', body });
const answered = { eventId: 'evt_1', status: 'pending' as const };

describe('the registration decision', () => {
  it.each([
    ['a repeat with the same data answers the original answer', { registration: { body: '{"a":1}', answer: answered } }, { kind: 'repeat', answer: answered }],
    ['a repeat with other data is a conflict', { registration: { body: '{"a":2}', answer: answered } }, { kind: 'conflict' }],
    ['a repeat whose body was erased answers the original answer', { registration: { body: null, answer: answered } }, { kind: 'repeat', answer: answered }],
    ['an unknown app', { projectExists: false }, { kind: 'unknown_app' }],
    ['Self Service with an enabled endpoint: a pending event', {}, { kind: 'record', event: { status: 'pending', body: '{"a":1}' } }],
    ['Self Service without one: a skipped event', { endpointEnabled: false }, { kind: 'record', event: { status: 'skipped', body: '{"a":1}' } }],
  ] as const)('%s', (_name, overrides, expected) => {
    const state: RegistrationState = { projectExists: true, endpointEnabled: true, registration: null, purchased: false, ...overrides };
    expect(decideRegistration(state, report(false))).toEqual(expected);
  });

  it('a store registration waits for its first purchase, or fires when the purchase came first', () => {
    const state: RegistrationState = { projectExists: true, endpointEnabled: true, registration: null, purchased: false };
    expect(decideRegistration(state, report(true))).toEqual({ kind: 'record', event: null });
    expect(registrationAnswer(null)).toEqual({ eventId: null, status: 'awaiting_first_purchase' });
    expect(decideRegistration({ ...state, purchased: true }, report(true))).toEqual({ kind: 'record', event: { status: 'pending', body: '{"a":1}' } });
  });

  it('creates an event exactly when nothing is recorded, the app exists, and the rules fire (any state)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.option(fc.constantFrom('{"a":1}', '{"a":2}', null), { nil: undefined }), (projectExists, endpointEnabled, purchased, storeRegister, recordedBody) => {
        const state: RegistrationState = {
          projectExists,
          endpointEnabled,
          purchased,
          registration: recordedBody === undefined ? null : { body: recordedBody, answer: answered },
        };
        const decision = decideRegistration(state, report(storeRegister));
        const creates = decision.kind === 'record' && decision.event !== null;
        expect(creates).toBe(recordedBody === undefined && projectExists && (!storeRegister || purchased));
        if (decision.kind === 'record' && decision.event) expect(decision.event.status).toBe(endpointEnabled ? 'pending' : 'skipped');
      }),
    );
  });
});

describe('the purchase decision', () => {
  const base: PurchaseState = { projectExists: true, endpointEnabled: true, purchase: null, registration: { storeRegister: true, body: '{"b":1}' }, eventExists: false };

  it('the first purchase of a store user fires with its registration body', () => {
    expect(decidePurchaseReport(base, 'u')).toEqual({ kind: 'record', event: { status: 'pending', body: '{"b":1}' } });
    expect(purchaseAnswer(base, { eventId: 'evt_9' })).toEqual({ triggered: true, eventId: 'evt_9' });
  });

  it.each([
    ['a later purchase', { eventExists: true }, 'not_first_purchase'],
    ['a Self Service user', { registration: { storeRegister: false, body: '{}' } }, 'self_service_user'],
    ['a purchase before its registration', { registration: null }, 'awaiting_registration'],
  ] as const)('%s fires nothing: %s', (_name, overrides, reason) => {
    const state = { ...base, ...overrides };
    expect(decidePurchaseReport(state, 'u')).toEqual({ kind: 'record', event: null });
    expect(purchaseAnswer(state, null)).toEqual({ triggered: false, reason });
  });

  it('the same transactionId again: the original answer for the same user, a conflict for another; an unknown app', () => {
    const answer = { triggered: true as const, eventId: 'evt_1' };
    expect(decidePurchaseReport({ ...base, purchase: { clientUuid: 'u', answer } }, 'u')).toEqual({ kind: 'repeat', answer });
    expect(decidePurchaseReport({ ...base, purchase: { clientUuid: 'v', answer } }, 'u')).toEqual({ kind: 'conflict' });
    expect(decidePurchaseReport({ ...base, projectExists: false }, 'u')).toEqual({ kind: 'unknown_app' });
  });
});

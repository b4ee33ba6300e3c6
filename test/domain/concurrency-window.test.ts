/** The adaptive per-endpoint window (SPEC section 4): a pure rule, checked as properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTEMPT_ERROR_KINDS } from '../../src/domain/attempt-error.js';
import { initialWindow, INITIAL_WINDOW, nextWindow, signalOf, type Signal, type WindowPolicy } from '../../src/domain/concurrency-window.js';

const policyArb = fc.record({ max: fc.integer({ min: 1, max: 1000 }), promptMs: fc.integer({ min: 1, max: 5_000 }) });
const signalArb = fc.constantFrom<Signal>('prompt_success', 'congestion', 'neutral');

const run = (policy: WindowPolicy, signals: readonly Signal[]) => signals.reduce((state, s) => nextWindow(state, s, policy), initialWindow(policy));

describe('the adaptive window', () => {
  it('always stays between 1 and the maximum, whatever happens', () => {
    fc.assert(
      fc.property(policyArb, fc.array(signalArb, { maxLength: 300 }), (policy, signals) => {
        let state = initialWindow(policy);
        expect(state.window).toBe(Math.min(INITIAL_WINDOW, policy.max));
        for (const s of signals) {
          state = nextWindow(state, s, policy);
          expect(state.window).toBeGreaterThanOrEqual(1);
          expect(state.window).toBeLessThanOrEqual(policy.max);
        }
      }),
    );
  });

  it('grows by one per prompt success until the first trouble (it doubles each round), then by one per window', () => {
    const policy = { max: 64, promptMs: 100 };
    expect(run(policy, Array(60).fill('prompt_success')).window).toBe(64);
    expect(run(policy, Array(3).fill('prompt_success')).window).toBe(7);
    // After trouble: 16 → 8, then 8 prompt successes buy +1.
    const congested = run(policy, [...Array(12).fill('prompt_success'), 'congestion']);
    expect(congested.window).toBe(8);
    expect(nextWindow(congested, 'prompt_success', policy).window).toBe(8);
    expect(run(policy, [...Array(12).fill('prompt_success'), 'congestion', ...Array(8).fill('prompt_success')]).window).toBe(9);
  });

  it('halves on every congestion signal, so a hanging endpoint is at 1 after a few timeouts', () => {
    fc.assert(
      fc.property(policyArb, fc.array(signalArb, { maxLength: 100 }), (policy, before) => {
        const state = run(policy, before);
        expect(nextWindow(state, 'congestion', policy).window).toBe(Math.max(1, Math.floor(state.window / 2)));
        expect(nextWindow(state, 'neutral', policy).window).toBe(state.window);
      }),
    );
    const policy = { max: 1000, promptMs: 100 };
    expect(run(policy, [...Array(2000).fill('prompt_success'), ...Array(10).fill('congestion')]).window).toBe(1);
  });

  it('reads timeouts, connection errors, 429 and 5xx as congestion; other answers and slow successes as neutral', () => {
    const policy = { max: 64, promptMs: 200 };
    const result = (statusCode: number | null, errorKind: (typeof ATTEMPT_ERROR_KINDS)[number] | null, durationMs = 10) => ({
      success: statusCode === 200,
      statusCode,
      errorKind,
      durationMs,
    });
    expect(signalOf(result(200, null, 10), policy)).toBe('prompt_success');
    expect(signalOf(result(200, null, 201), policy)).toBe('neutral');
    for (const status of [429, 500, 502, 503, 504]) expect(signalOf(result(status, null), policy)).toBe('congestion');
    for (const status of [201, 204, 301, 400, 401, 404, 410]) expect(signalOf(result(status, null), policy)).toBe('neutral');
    for (const kind of ['timeout', 'connection_refused', 'connection_reset', 'host_unreachable', 'network_error'] as const) {
      expect(signalOf(result(null, kind), policy)).toBe('congestion');
    }
    for (const kind of ['destination_refused', 'invalid_url', 'internal_error'] as const) expect(signalOf(result(null, kind), policy)).toBe('neutral');
  });
});

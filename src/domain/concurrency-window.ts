/**
 * Adaptive per-endpoint concurrency (SPEC section 4): how many attempts one endpoint may have in
 * flight, between 1 and the configured maximum. The rule is TCP's: while attempts succeed promptly
 * the window grows — by one per prompt success until the first sign of trouble (it doubles every
 * round trip: "slow start"), then by one per full window of them — and a timeout, a connection
 * error, 429 or 5xx halves it. An endpoint's other answers (4xx, 201, 3xx …) say nothing about
 * its capacity and leave the window as it is, as does a success that was slow.
 */
import type { AttemptResult } from './attempt-error.js';

export interface WindowState {
  /** Attempts the endpoint may have in flight now (at least 1, at most the maximum). */
  window: number;
  /** Successes counted towards the next +1 once past slow start. */
  credit: number;
  /** Whether the endpoint has shown trouble yet (ends slow start). */
  congested: boolean;
}

export interface WindowPolicy {
  /** REGHOOK_ENDPOINT_CONCURRENCY. */
  max: number;
  /** A success at most this long is prompt (it may grow the window). */
  promptMs: number;
}

/** Where a new (or forgotten) endpoint starts: a few attempts at once, then growing while it keeps up. */
export const INITIAL_WINDOW = 4;

export function initialWindow(policy: WindowPolicy): WindowState {
  return { window: Math.min(INITIAL_WINDOW, policy.max), credit: 0, congested: false };
}

/** Errors that mean the endpoint is overloaded, down or unreachable (not a bad request of ours). */
const CONGESTION_ERRORS = new Set(['timeout', 'connection_refused', 'connection_reset', 'host_unreachable', 'network_error', 'dns_error', 'tls_error']);

export type Signal = 'prompt_success' | 'congestion' | 'neutral';

/** What one finished attempt says about the endpoint's capacity. */
export function signalOf(result: AttemptResult & { durationMs: number }, policy: WindowPolicy): Signal {
  if (result.success) return result.durationMs <= policy.promptMs ? 'prompt_success' : 'neutral';
  if (result.errorKind !== null) return CONGESTION_ERRORS.has(result.errorKind) ? 'congestion' : 'neutral';
  const status = result.statusCode ?? 0;
  return status === 429 || status >= 500 ? 'congestion' : 'neutral';
}

/** The window after one attempt's signal. */
export function nextWindow(state: WindowState, signal: Signal, policy: WindowPolicy): WindowState {
  if (signal === 'congestion') return { window: Math.max(1, Math.floor(state.window / 2)), credit: 0, congested: true };
  if (signal === 'neutral' || state.window >= policy.max) return { ...state, window: Math.min(state.window, policy.max) };
  if (!state.congested) return { ...state, window: Math.min(policy.max, state.window + 1) };
  const credit = state.credit + 1;
  return credit >= state.window ? { window: Math.min(policy.max, state.window + 1), credit: 0, congested: true } : { ...state, credit };
}

/**
 * Endpoint health (SPEC section 4): `unknown` before any scheduled attempt, `failing` once the last
 * `failingAfter` scheduled attempts failed (`failingSince` is the first of that streak), otherwise
 * `healthy`. Only scheduled attempts count: a manual redelivery or a test webhook is the operator
 * or the merchant probing, and one lucky (or unlucky) probe must not hide (or fake) what the
 * automatic schedule keeps meeting. The next scheduled attempt decides.
 *
 * The state is kept per endpoint and moved on by one attempt at a time, in the order the attempts
 * are recorded (stores apply this rule inside the transaction that records them), never
 * recomputed from the attempt log. Each step says whether it made the endpoint `failing` or
 * `recovered`: exactly one `failing` per streak and one `recovered` after it, so a notification
 * hooked on them fires once per streak.
 */

export const DEFAULT_FAILING_AFTER = 3;

export type EndpointHealth = 'unknown' | 'healthy' | 'failing';

export interface HealthState {
  /** Scheduled attempts that failed since the last success (or since the first attempt). */
  consecutiveFailures: number;
  /** When the current streak of failures began: the earliest start among its attempts; null without one. */
  streakStartedAt: number | null;
  /** streakStartedAt once the streak reached `failingAfter`; null while not failing. */
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
}

export const NO_ATTEMPT_YET: HealthState = Object.freeze({
  consecutiveFailures: 0,
  streakStartedAt: null,
  failingSince: null,
  lastSuccessAt: null,
  lastFailureAt: null,
});

/** A scheduled attempt as health sees it: how it ended and when it started. */
export interface HealthAttempt {
  success: boolean;
  at: number;
}

/** `failing`: this attempt made the endpoint failing; `recovered`: the first success after a failing streak. */
export type HealthTransition = 'failing' | 'recovered';

export function healthOf(state: HealthState): EndpointHealth {
  if (state.failingSince !== null) return 'failing';
  return state.lastSuccessAt === null && state.lastFailureAt === null ? 'unknown' : 'healthy';
}

const later = (a: number | null, b: number): number => (a === null ? b : Math.max(a, b));

/** The state after one more scheduled attempt, and the transition it caused (null: none). */
export function afterAttempt(
  state: HealthState,
  attempt: HealthAttempt,
  failingAfter: number,
): { state: HealthState; transition: HealthTransition | null } {
  if (attempt.success) {
    return {
      state: { consecutiveFailures: 0, streakStartedAt: null, failingSince: null, lastSuccessAt: later(state.lastSuccessAt, attempt.at), lastFailureAt: state.lastFailureAt },
      transition: state.failingSince !== null ? 'recovered' : null,
    };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  // Attempts run concurrently and may be recorded out of start order: the streak began at the earliest.
  const streakStartedAt = state.streakStartedAt === null ? attempt.at : Math.min(state.streakStartedAt, attempt.at);
  const failingSince = consecutiveFailures >= Math.max(1, failingAfter) ? streakStartedAt : null;
  return {
    state: { consecutiveFailures, streakStartedAt, failingSince, lastSuccessAt: state.lastSuccessAt, lastFailureAt: later(state.lastFailureAt, attempt.at) },
    transition: state.failingSince === null && failingSince !== null ? 'failing' : null,
  };
}

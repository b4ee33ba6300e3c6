/**
 * The retry schedule of SPEC section 4 as a pure function: what happens to an event after one of
 * its scheduled attempts, given how many scheduled attempts it has used.
 */

export interface RetryPolicy {
  /**
   * The waits after the 1st, 2nd, … failed scheduled attempt; the last one repeats (`[1h]`: hourly,
   * the default; `[10m, 30m, 1h]`: 10 minutes, 30 minutes, then hourly). Never empty.
   */
  intervalsMs: readonly number[];
  /** Scheduled attempts in all, the first one included. */
  maxAttempts: number;
}

/** `erased`: its person was erased before delivery; never sent again, not redeliverable. */
export type EventStatus = 'pending' | 'delivered' | 'failed' | 'skipped' | 'erased';

export type NextState =
  | { status: 'delivered' }
  | { status: 'failed' }
  | { status: 'pending'; nextAttemptAt: number };

/** Only HTTP 200 is success: 201, 204 and redirects are failures. */
export function isSuccess(statusCode: number | null): boolean {
  return statusCode === 200;
}

/** The state after scheduled attempt number `attemptsUsed` (1-based) finished at `finishedAt`. */
export function afterScheduledAttempt(
  policy: RetryPolicy,
  attemptsUsed: number,
  succeeded: boolean,
  finishedAt: number,
): NextState {
  if (succeeded) return { status: 'delivered' };
  if (attemptsUsed >= policy.maxAttempts) return { status: 'failed' };
  return { status: 'pending', nextAttemptAt: finishedAt + retryWait(policy, attemptsUsed) };
}

/** The wait after failed scheduled attempt number `attemptsUsed` (1-based): its entry of the schedule, or the last one. */
export function retryWait(policy: RetryPolicy, attemptsUsed: number): number {
  const { intervalsMs } = policy;
  return intervalsMs[Math.min(Math.max(attemptsUsed, 1), intervalsMs.length) - 1]!;
}

/**
 * rateLimitPerSecond (SPEC section 4): a project may cap its endpoint at so many deliveries per
 * second. Each capped endpoint's sends are paced 1/rate seconds apart (a virtual schedule, like
 * GCRA): in any one second at most rate + 1 start, with no burst after a quiet spell beyond one.
 * The dispatcher also keeps such an endpoint's window at or below its rate, so a claimed delivery
 * waits at most about a second for its turn, well inside its lease. Per process: with several
 * dispatchers each paces its own attempts (the docs say so).
 */

/** Endpoints whose pace a dispatcher remembers (a bounded map, oldest use forgotten first). */
const MAX_PACED = 10_000;

export class RatePacer {
  private readonly nextFreeAt = new Map<number, number>();

  /** Reserves the next send slot of `appId` at `perSecond`; answers how many ms to wait before sending (0: now). */
  reserve(appId: number, perSecond: number, now: number): number {
    const interval = 1000 / perSecond;
    const slot = Math.max(now, this.nextFreeAt.get(appId) ?? now);
    this.nextFreeAt.delete(appId);
    this.nextFreeAt.set(appId, slot + interval);
    if (this.nextFreeAt.size > MAX_PACED) this.nextFreeAt.delete(this.nextFreeAt.keys().next().value!);
    return Math.max(0, Math.ceil(slot - now));
  }
}

/** The most attempts a capped endpoint may have in flight: its rate (at least 1), so no claimed delivery waits long. */
export function windowCapFor(perSecond: number | null): number {
  return perSecond === null ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(perSecond));
}

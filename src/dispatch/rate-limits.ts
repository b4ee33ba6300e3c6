/**
 * rateLimitPerSecond (SPEC section 4), the dispatcher's part. The pace itself is shared by every
 * process and kept by the store: each claimed delivery of a capped endpoint comes with its send
 * slot (domain/pacing.ts), and the dispatcher sends it then. Here: how many attempts such an
 * endpoint may have in flight in one process.
 */

/** The most attempts a capped endpoint may have in flight: its rate (at least 1), so no claimed delivery waits long. */
export function windowCapFor(perSecond: number | null): number {
  return perSecond === null ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(perSecond));
}

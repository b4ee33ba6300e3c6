/**
 * rateLimitPerSecond (SPEC section 4): a project may cap its endpoint at so many deliveries per
 * second, for the whole deployment, however many processes deliver. The store keeps one pace per
 * capped endpoint (its next free send slot, `endpoint_pace`) and hands out slots with the claim,
 * in the claim's transaction: sends are spaced 1/rate seconds apart on one shared virtual schedule
 * (as in GCRA), so in any one second at most rate + 1 start, and a quiet spell saves up no burst
 * (a slot is never earlier than now).
 *
 * A claim takes only deliveries whose slots fall within PACE_HORIZON_MS of now: a claimed delivery
 * waits at most about that long for its slot, far inside its lease. The SQLite store runs these
 * functions; the PostgreSQL claim (postgres/claim-due.ts) computes the same in SQL.
 */

/** How far ahead of now a claim may reserve send slots of a capped endpoint. */
export const PACE_HORIZON_MS = 1_000;

/** Milliseconds between two sends of an endpoint capped at `perSecond`. */
export const paceInterval = (perSecond: number): number => 1000 / perSecond;

/** The first slot a claim at `now` can give: the pace's next free slot, never earlier than now. */
export const firstSlot = (nextSlotAt: number | null, now: number): number => Math.max(now, nextSlotAt ?? now);

/** How many deliveries a claim at `now` may take for an endpoint capped at `perSecond`: the slots left inside the horizon. */
export function slotsWithinHorizon(nextSlotAt: number | null, perSecond: number, now: number): number {
  const room = now + PACE_HORIZON_MS - firstSlot(nextSlotAt, now);
  return room <= 0 ? 0 : Math.ceil((room * perSecond) / 1000);
}


/** The most attempts an endpoint capped at `perSecond` may have in flight in one process: its rate (at least 1), so no claimed delivery waits long. */
export function windowCapFor(perSecond: number | null): number {
  return perSecond === null ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(perSecond));
}

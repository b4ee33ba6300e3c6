/** The one source of "now" (milliseconds since the epoch). Tests pass their own. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

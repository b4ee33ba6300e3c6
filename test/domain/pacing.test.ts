/** rateLimitPerSecond's pace (SPEC section 4, domain/pacing.ts): a pure rule, checked as properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstSlot, PACE_HORIZON_MS, paceInterval, slotsWithinHorizon } from '../../src/domain/pacing.js';

/** Doubles near today's epoch milliseconds are exact to about 0.25 µs: comparisons allow 1 µs. */
const EPSILON_MS = 1e-3;

/** Claims at the given gaps, each taking `share` of what it may: the slots handed out, with the time of their claim. */
function claims(perSecond: number, steps: readonly { gapMs: number; share: number }[]) {
  let now = 1_700_000_000_000;
  let nextSlotAt: number | null = null;
  const given: { at: number; slot: number }[] = [];
  for (const { gapMs, share } of steps) {
    now += gapMs;
    const take = Math.floor(slotsWithinHorizon(nextSlotAt, perSecond, now) * share);
    const first = firstSlot(nextSlotAt, now);
    for (let i = 0; i < take; i++) given.push({ at: now, slot: first + i * paceInterval(perSecond) });
    if (take > 0) nextSlotAt = first + take * paceInterval(perSecond);
  }
  return given;
}

// Up to 500 per second keeps a run's slots few enough to check each; the rule does not depend on the size.
const rateArb = fc.integer({ min: 1, max: 500 });
const stepsArb = fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 3_000 }), share: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 60 });

describe('the pace of a capped endpoint', () => {
  it('never gives a slot before its claim, nor more than the horizon after it', () => {
    fc.assert(
      fc.property(rateArb, stepsArb, (perSecond, steps) => {
        const early = claims(perSecond, steps).filter(({ at, slot }) => slot < at || slot >= at + PACE_HORIZON_MS + EPSILON_MS);
        expect(early).toEqual([]);
      }),
    );
  });

  it('spaces every slot at least 1/rate after the one before, so any second holds at most rate + 1', () => {
    fc.assert(
      fc.property(rateArb, stepsArb, (perSecond, steps) => {
        const slots = claims(perSecond, steps).map((g) => g.slot);
        const close = slots.filter((s, i) => i > 0 && s - slots[i - 1]! < paceInterval(perSecond) - EPSILON_MS);
        expect(close).toEqual([]);
        // The densest second, by two pointers over the (ascending) slots.
        let densest = 0;
        for (let i = 0, j = 0; i < slots.length; i++) {
          while (slots[i]! - slots[j]! >= 1000) j++;
          densest = Math.max(densest, i - j + 1);
        }
        expect(densest).toBeLessThanOrEqual(perSecond + 1);
      }),
    );
  });

  it('gives a full second of slots after a quiet spell, and none while the horizon is taken', () => {
    fc.assert(
      fc.property(rateArb, fc.integer({ min: 0, max: 10_000_000 }), (perSecond, now) => {
        expect(slotsWithinHorizon(null, perSecond, now)).toBe(perSecond);
        expect(slotsWithinHorizon(now - 5_000, perSecond, now)).toBe(perSecond);
        expect(slotsWithinHorizon(now + PACE_HORIZON_MS, perSecond, now)).toBe(0);
        expect(slotsWithinHorizon(now + PACE_HORIZON_MS - 1, perSecond, now)).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
